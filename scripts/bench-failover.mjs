// `npm run bench:failover`: SIGKILL of one of two instances while events flow (issue 13).
// Starts a local PostgreSQL and Redis and two production instances of ours on them, opens --n
// sockets (raw tRPC-protocol clients, session cookie) subscribed to one project's `project.onEvent`,
// half on each instance, and has a writer update task descriptions on the second instance at
// --rate writes/s for --duration s. At --kill-at s the first instance is killed with SIGKILL: its
// clients reconnect at once to the survivor (as a balancer would send them) and resubscribe with
// the last event id they have (tRPC's `tracked` id), so the server backfills what they missed.
// Reports, for the killed instance's clients, the time from the kill to their resubscription and to
// having every event written before it (caught up), and for all clients the loss per (socket, event)
// with duplicates apart. Target: every client resubscribed and caught up within 5 s, nothing lost.
// Options: --n=1000 --rate=10 --duration=20 --kill-at=8 --per-user=5 (sockets per user) --json=<file>
// A subscription refused with TOO_MANY_REQUESTS (a user's sockets share a call budget) is retried
// after the delay the server names, as a client should; the retries are counted.
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import WebSocket from 'ws'
import { freePort, httpCaller, startPostgres, startRedis } from './bench-lib.mjs'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const N = Number(args.n ?? 1000)
const RATE = Number(args.rate ?? 10)
const DURATION = Number(args.duration ?? 20) * 1000
const KILL_AT = Number(args['kill-at'] ?? 8) * 1000
const PER_USER = Number(args['per-user'] ?? 5)
const TASKS = 20
const PAYLOAD = 300
const limits = { WS_MAX_PER_USER: '100000', WS_MAX_PER_IP: '1000000', REGISTER_LIMIT_PER_IP: '1000000', WS_AUTH_TIMEOUT_SECONDS: '300', HTTP_CALL_BURST: '1000000', HTTP_CALLS_PER_SECOND: '1000000' }

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

function stats(samples) {
  const s = Float64Array.from(samples).sort()
  const q = p => s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : Number.NaN
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s.length ? s[s.length - 1] : Number.NaN }
}
const r1 = x => Math.round(x * 10) / 10

async function startInstance(env) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const proc = spawn(process.execPath, ['.output/server/index.mjs'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_ORIGIN: base, SEED_DEMO: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...limits, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  process.on('exit', () => proc.kill('SIGKILL'))
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/api/trpc/auth.me`)).ok) return { base, ws: `${base.replace('http', 'ws')}/api/trpc-ws`, proc }
    }
    catch {
      // not listening yet
    }
    await sleep(200)
  }
  throw new Error('instance did not start')
}

/**
 * A raw client of `project.onEvent` that fails over: when its socket closes, it connects to the
 * next URL at once and resubscribes with the last tracked id it has. Receipts are per marker.
 */
function failoverClient({ urls, home, cookie, projectId, markerPattern, now }) {
  const client = { home, receipts: new Map(), duplicates: 0, errors: 0, retries: 0, closedAt: null, resubscribedAt: null, lastEventId: null, stopped: false }
  let attempt = 0
  const open = (url) => {
    const socket = new WebSocket(url, { headers: { cookie }, perMessageDeflate: false })
    client.socket = socket
    let started = false
    const subscribe = () => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'project.onEvent', input: { json: { projectId, lastEventId: client.lastEventId, wire: 2 } } } }))
    socket.on('open', subscribe)
    socket.on('message', (data) => {
      const text = data.toString()
      if (text === 'PING') return socket.send('PONG')
      const frame = JSON.parse(text)
      if (frame.error) {
        // Over the user's socket call budget (a whole user's sockets resubscribe at once): retry after
        // the delay the server names, as a client should; anything else is an error.
        if (frame.error.json?.data?.code === 'TOO_MANY_REQUESTS') {
          client.retries++
          const seconds = Number(/retry in (\d+)/.exec(frame.error.json.message)?.[1] ?? 1)
          setTimeout(subscribe, seconds * 1000)
          return
        }
        client.errors++
        console.error(`subscription error: ${text.slice(0, 200)}`)
        return
      }
      const result = frame.result
      if (result?.type === 'started') {
        started = true
        if (attempt > 0) client.resubscribedAt ??= now()
        client.onStarted?.()
        return
      }
      if (result?.type === 'data' || result?.data !== undefined) {
        if (result.id != null) client.lastEventId = String(result.id)
        const marker = markerPattern.exec(text)?.[1]
        if (!marker) return
        if (client.receipts.has(marker)) client.duplicates++
        else client.receipts.set(marker, now())
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      if (client.stopped) return
      if (!started && attempt > 0) client.errors++
      client.closedAt ??= now()
      attempt++
      open(urls[(urls.indexOf(url) + 1) % urls.length])
    })
  }
  client.ready = new Promise((resolve) => {
    client.onStarted = () => {
      client.onStarted = null
      resolve()
    }
  })
  open(urls[home])
  client.stop = () => {
    client.stopped = true
    client.socket.close()
  }
  return client
}

async function main() {
  const postgres = await startPostgres()
  const redis = await startRedis()
  const env = { DATABASE_URL: postgres.url, REDIS_URL: redis.url }
  // One at a time: the first applies the migrations.
  const a = await startInstance(env)
  const b = await startInstance(env)
  const owner = httpCaller(b.base)
  await owner.call('mutation', 'auth.register', { email: 'owner@bench.test', username: 'benchowner', name: 'Bench Owner', password: 'benchmark-password' })
  const project = await owner.call('mutation', 'project.create', { name: 'Failover benchmark' })
  const tasks = []
  for (let i = 0; i < TASKS; i++) tasks.push(await owner.call('mutation', 'task.create', { projectId: project.id, title: `Task ${i}` }))
  const users = []
  let next = 0
  const userCount = Math.ceil(N / PER_USER)
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < userCount) {
      const i = next++
      const user = httpCaller(b.base)
      await user.call('mutation', 'auth.register', { email: `f${i}@bench.test`, username: `failover${i}`, name: `Failover ${i}`, password: 'benchmark-password' })
      await owner.call('mutation', 'member.add', { projectId: project.id, username: `failover${i}`, role: 'MEMBER' })
      users[i] = user.cookie()
    }
  }))

  const prefix = 'failover-'
  const markerPattern = new RegExp(`"(${prefix}\\d+)\\.`)
  const now = () => performance.now()
  const clients = []
  for (let i = 0; i < N; i += 250) {
    const batch = []
    for (let j = i; j < Math.min(N, i + 250); j++) {
      const home = Math.floor(j / PER_USER) % 2
      const client = failoverClient({ urls: [a.ws, b.ws], home, cookie: users[Math.floor(j / PER_USER)], projectId: project.id, markerPattern, now })
      clients.push(client)
      batch.push(client.ready)
    }
    await Promise.all(batch)
  }
  console.log(`${N} sockets subscribed (${clients.filter(c => c.home === 0).length} on the instance to be killed)`)
  await sleep(1000)

  // Open-loop writer on the survivor; writes to one task wait for its previous version.
  const sent = new Map() // marker → send time
  const chains = new Map()
  const writes = []
  let writeErrors = 0
  const start = now()
  let killedAt = null
  const killer = setTimeout(() => {
    killedAt = now()
    a.proc.kill('SIGKILL')
  }, KILL_AT)
  for (let k = 0; now() - start < DURATION; k++) {
    const task = tasks[k % TASKS]
    const marker = `${prefix}${k}`
    const done = (chains.get(task.id) ?? Promise.resolve()).then(async () => {
      sent.set(marker, now())
      try {
        const updated = await owner.call('mutation', 'task.update', { id: task.id, baseVersion: task.version, patch: { description: `${marker}.`.padEnd(PAYLOAD, '.') } })
        task.version = updated.version
      }
      catch (error) {
        sent.delete(marker)
        writeErrors++
        console.error(`writer: ${error.message}`)
      }
    })
    chains.set(task.id, done)
    writes.push(done)
    const wait = start + ((k + 1) * 1000) / RATE - now()
    if (wait > 0) await sleep(wait)
  }
  clearTimeout(killer)
  await Promise.all(writes)
  // Until every (socket, event) is in, or 15 s.
  const expected = sent.size * N
  const deadline = Date.now() + 15_000
  const received = () => clients.reduce((sum, c) => sum + [...sent.keys()].filter(m => c.receipts.has(m)).length, 0)
  while (received() < expected && Date.now() < deadline) await sleep(200)

  let lost = 0
  let duplicates = 0
  let errors = writeErrors
  const latencies = []
  const resubscribed = []
  const caughtUp = []
  let notResubscribed = 0
  const retries = clients.reduce((sum, c) => sum + c.retries, 0)
  for (const c of clients) {
    duplicates += c.duplicates
    errors += c.errors
    let lastNeeded = null
    for (const [marker, at] of sent) {
      const got = c.receipts.get(marker)
      if (got === undefined) {
        lost++
        continue
      }
      latencies.push(got - at)
      // Caught up: every event written before the client was subscribed again has arrived.
      if (c.home === 0 && c.resubscribedAt !== null && at <= c.resubscribedAt) lastNeeded = Math.max(lastNeeded ?? 0, got)
    }
    if (c.home !== 0) continue
    if (c.resubscribedAt === null) {
      notResubscribed++
      continue
    }
    resubscribed.push(c.resubscribedAt - killedAt)
    caughtUp.push(Math.max(c.resubscribedAt, lastNeeded ?? 0) - killedAt)
  }
  for (const c of clients) c.stop()
  const rs = stats(resubscribed)
  const cu = stats(caughtUp)
  const lat = stats(latencies)
  const row = {
    n: N,
    onKilled: clients.filter(c => c.home === 0).length,
    writes: sent.size,
    resubscribedP50: r1(rs.p50),
    resubscribedP99: r1(rs.p99),
    resubscribedMax: r1(rs.max),
    caughtUpP50: r1(cu.p50),
    caughtUpP99: r1(cu.p99),
    caughtUpMax: r1(cu.max),
    notResubscribed,
    latencyP50: r1(lat.p50),
    latencyP99: r1(lat.p99),
    lost,
    duplicates,
    errors,
    retries,
  }
  console.log(JSON.stringify(row))
  console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator on the same cores.`)
  console.log(`Two instances on PostgreSQL + Redis; writer on the survivor at ${RATE} writes/s for ${DURATION / 1000} s; SIGKILL of the other at ${KILL_AT / 1000} s.\n`)
  console.log('| sockets | on the killed instance | writes | resubscribed after the kill p50 / p99 / max | caught up p50 / p99 / max | not resubscribed | event latency p50 / p99 (all sockets) | lost | dup | errors | retried after 429 |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|')
  console.log(`| ${row.n} | ${row.onKilled} | ${row.writes} | ${row.resubscribedP50} / ${row.resubscribedP99} / ${row.resubscribedMax} ms | ${row.caughtUpP50} / ${row.caughtUpP99} / ${row.caughtUpMax} ms | ${notResubscribed} | ${row.latencyP50} / ${row.latencyP99} ms | ${lost} | ${duplicates} | ${errors} | ${retries} |`)
  if (args.json) writeFileSync(args.json, JSON.stringify(row, null, 2))
  b.proc.kill('SIGTERM')
  await postgres.stop()
  await redis.stop()
  process.exit(lost === 0 && notResubscribed === 0 ? 0 : 1)
}

await main()
