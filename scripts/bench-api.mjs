// `npm run bench:api`: HTTP API and SSR benchmark against the production build.
// Starts `node .output/server/index.mjs` on a free loopback port with a fresh embedded database
// (or DATABASE_URL when set), creates a project with 1,000 tasks and one with 500, then measures:
//   task.list (1,000 tasks) and task.update at 32 concurrent connections for 20 s each,
//   a mixed run: --writers connections keep updating tasks of the 1,000-task project while the
//   others read it (task.list and task.byId in turn), so task.list is rebuilt after each write
//   instead of answered from its per-seq cache;
//   SSR of the board page with 500 tasks (sequential requests).
// The bench plays one very busy user, so it raises that user's HTTP call budget (HTTP_CALL_BURST,
// HTTP_CALLS_PER_SECOND; the defaults would answer 429 within a second).
// Options: --duration=20 --connections=32 --writers=8 --tasks=1000 --ssr-tasks=500 --ssr-requests=100
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
const WRITERS = Math.min(CONNECTIONS - 1, Number(args.writers ?? 8))

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const { base, stop } = await startBenchServer('tt-bench-', { HTTP_CALL_BURST: '1000000', HTTP_CALLS_PER_SECOND: '1000000' })

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

/**
 * `CONNECTIONS` loops for DURATION, each calling `fn(worker)` back to back; `fn` returns the name of
 * what it did (one row per name), or nothing for `name`.
 */
async function load(name, fn) {
  const latencies = new Map()
  const errors = new Map()
  const end = Date.now() + DURATION
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, worker) => {
    while (Date.now() < end) {
      const t0 = performance.now()
      let row = name
      try {
        row = (await fn(worker)) ?? name
        if (!latencies.has(row)) latencies.set(row, [])
        latencies.get(row).push(performance.now() - t0)
      }
      catch (error) {
        if (errors.size === 0 && !errors.has(row)) console.error(`${row}: ${error.message}`)
        errors.set(row, (errors.get(row) ?? 0) + 1)
      }
    }
  }))
  const results = []
  for (const row of new Set([...latencies.keys(), ...errors.keys()])) {
    const st = stats(latencies.get(row) ?? [0])
    const result = { name: row, rps: (latencies.get(row)?.length ?? 0) / (DURATION / 1000), ...st, errors: errors.get(row) ?? 0 }
    console.log(`${row}: ${result.rps.toFixed(1)} req/s, p50 ${st.p50.toFixed(1)} ms, p99 ${st.p99.toFixed(1)} ms, ${result.errors} errors`)
    results.push(result)
  }
  return results
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

const getList = async () => {
  const res = await fetch(listUrl, { headers: { cookie: api.cookie() } })
  if (!res.ok) throw new Error(String(res.status))
  await res.arrayBuffer()
}

const results = []
results.push(...await load(`task.list (${TASKS} tasks)`, getList))

// Each connection edits its own task, so no request is a conflict.
const tasks = await call('query', 'task.list', { projectId: big.id })
const own = tasks.slice(0, CONNECTIONS).map(t => ({ id: t.id, version: t.version }))
let counter = 0
const update = async (task) => {
  const updated = await call('mutation', 'task.update', { id: task.id, baseVersion: task.version, patch: { title: `Edited ${counter++}` } })
  task.version = updated.version
}
results.push(...await load('task.update', worker => update(own[worker])))

// Mixed: WRITERS connections update while the others read, alternating task.list and task.byId of
// a task picked at random; every write moves the project's seq, so a list read after it is rebuilt.
const reads = new Array(CONNECTIONS).fill(0)
results.push(...await load('mixed', async (worker) => {
  if (worker < WRITERS) {
    await update(own[worker])
    return `mixed: task.update (${WRITERS} writers)`
  }
  if (reads[worker]++ % 2 === 0) {
    await getList()
    return `mixed: task.list (${CONNECTIONS - WRITERS} readers)`
  }
  await call('query', 'task.byId', { id: tasks[Math.floor(Math.random() * tasks.length)].id })
  return `mixed: task.byId (${CONNECTIONS - WRITERS} readers)`
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
console.log(`load: ${CONNECTIONS} connections × ${DURATION / 1000} s each (mixed: ${WRITERS} of them writing), generator on the same machine\n`)
console.log('| scenario | requests/s | p50 ms | p99 ms | max ms | errors |')
console.log('|---|---|---|---|---|---|')
for (const r of results) console.log(`| ${r.name} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.errors} |`)
console.log(`| board SSR (${SSR_TASKS} tasks, sequential) | ${fmt(1000 / (ssrTimes.reduce((a, b) => a + b, 0) / ssrTimes.length))} | ${fmt(ssrStats.p50)} | ${fmt(ssrStats.p99)} | ${fmt(ssrStats.max)} | 0 |`)
stop()
process.exit(0)
