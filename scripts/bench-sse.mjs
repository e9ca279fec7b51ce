// `npm run bench:sse`: delivery delay of project events over the fallback transports against the
// production build. Starts `node .output/server/index.mjs` on a free loopback port with a fresh
// embedded database, creates a project, and opens N subscribers of `project.onEvent` over SSE
// (GET /api/trpc/project.onEvent, `text/event-stream`, read with fetch) and, in the same run, N over
// the WebSocket (stock @trpc/client wsLink), alternating which goes first. A writer creates tasks
// over HTTP at a fixed rate; each task's event must reach every subscriber. Reported per transport:
// delivery delay (mutation sent → event received, one process, one clock) p50/p95/p99/max, lost
// deliveries. Also the polling fallback's expected delay (half the 5 s period plus one query).
// Options: --n=100 --rate=5 (tasks/s) --duration=10 (s) --rounds=2 --per-user=20 (subscribers per user)
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import WebSocket from 'ws'
import { freePort, httpCaller } from './bench-lib.mjs'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const N = Number(args.n ?? 100)
const RATE = Number(args.rate ?? 5)
const DURATION = Number(args.duration ?? 10) * 1000
const ROUNDS = Number(args.rounds ?? 2)
const PER_USER = Number(args['per-user'] ?? 20)

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN

async function startServer(dataDir) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ['.output/server/index.mjs'], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      REDIS_URL: '',
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_ORIGIN: base,
      PGLITE_DIR: dataDir,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      REGISTER_LIMIT_PER_IP: '100000',
      SSE_MAX_PER_USER: '1000',
      WS_MAX_PER_USER: '1000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${base}/api/trpc/auth.me`)).ok) return { base, stop: () => child.kill('SIGTERM') }
    }
    catch {
      // not listening yet
    }
    await sleep(250)
  }
  child.kill('SIGKILL')
  throw new Error('the server did not start')
}

/** One SSE subscriber: calls `onEvent(event)` for every data message. */
async function sseSubscriber(base, cookie, projectId, onEvent) {
  const controller = new AbortController()
  const input = encodeURIComponent(JSON.stringify(superjson.serialize({ projectId })))
  const res = await fetch(`${base}/api/trpc/project.onEvent?input=${input}`, { headers: { cookie, accept: 'text/event-stream' }, signal: controller.signal })
  if (!String(res.headers.get('content-type')).startsWith('text/event-stream')) throw new Error(`SSE refused: ${res.status}`)
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let connected
  const ready = new Promise((resolve) => {
    connected = resolve
  })
  ;(async () => {
    let buffer = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buffer += decoder.decode(value, { stream: true })
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (block.includes('event: connected')) connected()
          const data = block.split('\n').find(l => l.startsWith('data: {"json"'))
          if (data) onEvent(superjson.deserialize(JSON.parse(data.slice(6))))
        }
      }
    }
    catch {
      // closed by the bench
    }
  })()
  await ready
  return () => controller.abort()
}

/** One WebSocket subscriber through the stock client. */
async function wsSubscriber(base, cookie, projectId, onEvent) {
  class CookieWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers: { cookie } })
    }
  }
  const client = createWSClient({ url: `${base.replace('http', 'ws')}/api/trpc-ws`, WebSocket: CookieWebSocket })
  const trpc = createTRPCClient({ links: [wsLink({ client, transformer: superjson })] })
  await new Promise((resolve, reject) => {
    trpc.project.onEvent.subscribe({ projectId }, {
      onStarted: resolve,
      onData: ({ data }) => onEvent(data),
      onError: reject,
    })
  })
  return () => client.close()
}

async function measure(base, users, writer, projectId, transport) {
  const sent = new Map()
  const delays = []
  let received = 0
  const onEvent = (event) => {
    const at = performance.now()
    const marker = event?.data?.task?.title
    const start = sent.get(marker)
    if (start !== undefined) {
      delays.push(at - start)
      received++
    }
  }
  const closers = []
  for (let i = 0; i < N; i++) {
    const user = users[Math.floor(i / PER_USER)]
    closers.push(await (transport === 'sse' ? sseSubscriber : wsSubscriber)(base, user.cookie(), projectId, onEvent))
  }
  const count = Math.round((DURATION / 1000) * RATE)
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const marker = `${transport}-${i}-${Math.random().toString(36).slice(2, 8)}`
    const due = t0 + (i * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    sent.set(marker, performance.now())
    await writer.call('mutation', 'task.create', { projectId, title: marker })
  }
  // Let the last events arrive.
  const expected = count * N
  for (let i = 0; i < 50 && received < expected; i++) await sleep(100)
  for (const close of closers) close()
  delays.sort((a, b) => a - b)
  return { transport, subscribers: N, events: count, p50: pct(delays, 0.5), p95: pct(delays, 0.95), p99: pct(delays, 0.99), max: delays.at(-1), lost: expected - received }
}

const dataDir = mkdtempSync(join(tmpdir(), 'ttp-bench-sse-'))
const server = await startServer(dataDir)
try {
  const users = []
  for (let i = 0; i < Math.ceil(N / PER_USER) + 1; i++) {
    const u = httpCaller(server.base)
    const name = `sse${i}${Math.random().toString(36).slice(2, 8)}`
    await u.call('mutation', 'auth.register', { email: `${name}@example.test`, username: name, name, password: 'correct horse battery' })
    users.push({ ...u, name })
  }
  const writer = users.pop()
  const project = await writer.call('mutation', 'project.create', { name: 'SSE bench' })
  for (const u of users) await writer.call('mutation', 'member.add', { projectId: project.id, username: u.name, role: 'MEMBER' })

  const results = []
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['ws', 'sse'] : ['sse', 'ws']
    for (const transport of order) results.push({ round, ...await measure(server.base, users, writer, project.id, transport) })
  }
  const ms = v => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : '–')
  console.log(`\nproject.onEvent delivery delay, ${N} subscribers, ${RATE} tasks/s for ${DURATION / 1000} s; ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`)
  console.log('| round | transport | events | p50 | p95 | p99 | max | lost |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const r of results) console.log(`| ${r.round + 1} | ${r.transport === 'ws' ? 'WebSocket' : 'SSE'} | ${r.events} × ${r.subscribers} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.lost} |`)
  console.log('Polling (every 5 s): an event waits 0–5 s for the next poll, 2.5 s on average, plus one query.')
}
finally {
  server.stop()
  await sleep(500)
  rmSync(dataDir, { recursive: true, force: true })
}
