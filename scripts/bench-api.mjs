// `npm run bench:api`: HTTP API and SSR benchmark against the production build.
// Starts `node .output/server/index.mjs` on a free loopback port with a fresh embedded database
// (or DATABASE_URL when set), creates a project with 1,000 tasks and one with 500, then measures:
//   task.list (1,000 tasks) and task.update at 32 concurrent connections for 20 s each,
//   SSR of the board page with 500 tasks (sequential requests).
// Options: --duration=20 --connections=32 --tasks=1000 --ssr-tasks=500 --ssr-requests=100
import { existsSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import superjson from 'superjson'
import { httpCaller, startBenchServer } from './bench-lib.mjs'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const DURATION = Number(args.duration ?? 20) * 1000
const CONNECTIONS = Number(args.connections ?? 32)
const TASKS = Number(args.tasks ?? 1000)
const SSR_TASKS = Number(args['ssr-tasks'] ?? 500)
const SSR_REQUESTS = Number(args['ssr-requests'] ?? 100)

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const { base, stop } = await startBenchServer('tt-bench-')

const api = httpCaller(base)
const call = api.call

async function fill(projectId, n) {
  const statuses = ['TODO', 'IN_PROGRESS', 'IN_REVIEW', 'DONE']
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < n) {
      const i = next++
      await call('mutation', 'task.create', {
        projectId,
        title: `Benchmark task ${i} with a realistic title length`,
        description: i % 3 ? '' : 'Some **markdown** description with a few words in it.',
        status: statuses[i % 4],
        priority: ['NONE', 'LOW', 'MEDIUM', 'HIGH'][i % 4],
        labels: i % 2 ? ['backend'] : ['frontend', 'bug'],
      })
    }
  }))
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b)
  const q = p => s[Math.min(s.length - 1, Math.floor(p * s.length))]
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s.at(-1) }
}

async function load(name, fn) {
  const latencies = []
  let errors = 0
  const end = Date.now() + DURATION
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, worker) => {
    while (Date.now() < end) {
      const t0 = performance.now()
      try {
        await fn(worker)
        latencies.push(performance.now() - t0)
      }
      catch {
        errors++
      }
    }
  }))
  const st = stats(latencies)
  const result = { name, rps: st.n / (DURATION / 1000), ...st, errors }
  console.log(`${name}: ${result.rps.toFixed(1)} req/s, p50 ${st.p50.toFixed(1)} ms, p99 ${st.p99.toFixed(1)} ms, ${errors} errors`)
  return result
}

await call('mutation', 'auth.register', { email: 'bench@example.test', username: 'bench', name: 'Bench', password: 'benchmark-password' })
const big = await call('mutation', 'project.create', { name: 'Bench 1000' })
const ssr = await call('mutation', 'project.create', { name: 'Bench SSR' })
let t0 = Date.now()
await fill(big.id, TASKS)
await fill(ssr.id, SSR_TASKS)
console.log(`seeded ${TASKS + SSR_TASKS} tasks in ${((Date.now() - t0) / 1000).toFixed(1)} s`)

const listUrl = `${base}/api/trpc/task.list?input=${encodeURIComponent(JSON.stringify(superjson.serialize({ projectId: big.id })))}`
const warm = await (await fetch(listUrl, { headers: { cookie: api.cookie() } })).text()
console.log(`task.list response: ${(warm.length / 1024).toFixed(0)} KiB for ${TASKS} tasks`)

const results = []
results.push(await load(`task.list (${TASKS} tasks)`, async () => {
  const res = await fetch(listUrl, { headers: { cookie: api.cookie() } })
  if (!res.ok) throw new Error(String(res.status))
  await res.arrayBuffer()
}))

// Each connection edits its own task, so no request is a conflict.
const own = (await call('query', 'task.list', { projectId: big.id })).slice(0, CONNECTIONS).map(t => ({ id: t.id, version: t.version }))
let counter = 0
results.push(await load('task.update', async (worker) => {
  const task = own[worker]
  const updated = await call('mutation', 'task.update', { id: task.id, baseVersion: task.version, patch: { title: `Edited ${counter++}` } })
  task.version = updated.version
}))

const ssrTimes = []
for (let i = 0; i < SSR_REQUESTS + 5; i++) {
  const start = performance.now()
  const res = await fetch(`${base}/projects/${ssr.id}`, { headers: { cookie: api.cookie() } })
  const html = await res.text()
  if (!res.ok || html.length < 1000) throw new Error(`SSR failed: ${res.status}`)
  if (i >= 5) ssrTimes.push(performance.now() - start)
}
const ssrStats = stats(ssrTimes)

const fmt = v => v.toFixed(1)
console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, database: ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite (embedded)'}`)
console.log(`load: ${CONNECTIONS} connections × ${DURATION / 1000} s each, generator on the same machine\n`)
console.log('| scenario | requests/s | p50 ms | p99 ms | max ms | errors |')
console.log('|---|---|---|---|---|---|')
for (const r of results) console.log(`| ${r.name} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.errors} |`)
console.log(`| board SSR (${SSR_TASKS} tasks, sequential) | ${fmt(1000 / (ssrTimes.reduce((a, b) => a + b, 0) / ssrTimes.length))} | ${fmt(ssrStats.p50)} | ${fmt(ssrStats.p99)} | ${fmt(ssrStats.max)} | 0 |`)
stop()
process.exit(0)
