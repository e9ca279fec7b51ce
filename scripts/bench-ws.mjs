// `npm run bench:ws`: real-time fan-out benchmark against the production build.
// For each bus (in-process, then Redis) it starts `node .output/server/index.mjs` on a free loopback
// port with a fresh embedded database, creates a project, and for each N opens N authenticated
// sockets through the stock @trpc/client (createWSClient + wsLink + superjson), each subscribed to
// the project's `project.onEvent`. A writer then updates tasks over HTTP at a fixed rate; every
// update's event must reach every socket. Reported per run: connect time, delivery latency
// (mutation sent → event received, on one clock),
// deliveries/s, lost deliveries, errors, and the server's RSS per idle connection. The sockets live in
// --receivers child processes and the writer in another; all read the system-wide monotonic clock.
// Options: --n=100,1000,5000 --bus=memory,redis --rate=5 (updates/s) --duration=10 (s)
//          --per-user=25 (sockets per user: the per-user socket rate limit allows 30 calls at once)
//          --receivers=1 (processes sharing the sockets; more than one starves the server on 2 cores)
//          --client=wslink|raw (raw: plain `ws` sockets speaking the same protocol and only matching
//          the marker, to separate the server's latency from the stock client's decoding)
//          --json=<file> (also write the results as JSON)
// Presence scenario (`npm run bench:ws -- --scenario=presence`): --users=1000 in --projects=10, each
// on its own socket subscribed to its project's presence, changing the task it views every few
// seconds (--period=3 s on average) with typing bursts; reports the latency from a
// presence.update/typing call to the patch that shows it at every other member, and presence
// messages per client per second after coalescing.
import { fork, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import WebSocket from 'ws'
import { freePort, httpCaller } from './bench-lib.mjs'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const SIZES = String(args.n ?? '100,1000,5000').split(',').map(Number)
const BUSES = String(args.bus ?? 'memory,redis').split(',')
const RATE = Number(args.rate ?? 5)
const DURATION = Number(args.duration ?? 10) * 1000
const PER_USER = Number(args['per-user'] ?? 25)
const TASKS = 20
const SCENARIO = String(args.scenario ?? 'fanout')
const RECEIVERS = Number(args.receivers ?? 1)
const CLIENT = String(args.client ?? 'wslink')

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Child process role: RATE task.updates per second for DURATION, reporting marker → send time. */
if (args.role === 'receiver') {
  await receiverRole()
}
else if (args.role === 'writer') {
  const job = JSON.parse(process.env.BENCH_WRITER)
  const tasks = job.tasks
  const sent = []
  const replies = []
  let errors = 0
  // Warm-up (connection, JIT): not part of the measured updates.
  for (let i = 0; i < 3; i++) await fetch(`${job.base}/api/trpc/auth.me`, { headers: { cookie: job.cookie } })
  const start = performance.now()
  const duration = job.durationMs ?? DURATION
  for (let k = 0; performance.now() - start < duration; k++) {
    const task = tasks[k % tasks.length]
    const marker = `${job.prefix}${k}`
    const due = start + ((k + 1) * 1000) / RATE
    const sentAt = process.hrtime.bigint()
    try {
      const res = await fetch(`${job.base}/api/trpc/task.update`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cookie': job.cookie },
        body: JSON.stringify(superjson.serialize({ id: task.id, baseVersion: task.version, patch: { title: marker } })),
      })
      const body = await res.json()
      if (body.error) throw new Error(JSON.stringify(body.error.json?.message ?? body.error))
      replies.push(Number(process.hrtime.bigint() - sentAt) / 1e6)
      task.version = superjson.deserialize(body.result.data).version
      sent.push([marker, String(sentAt)])
    }
    catch (error) {
      errors++
      console.error(`writer: ${error.message}`)
    }
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
  }
  process.send({ sent, replies, errors, versions: Object.fromEntries(tasks.map(t => [t.id, t.version])) }, () => process.exit(0))
}
else {
  await main()
}

function headerWebSocket(headers) {
  return class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers })
    }
  }
}

function stats(samples) {
  const s = Float64Array.from(samples).sort()
  const q = p => s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : Number.NaN
  return { n: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.length ? s[s.length - 1] : Number.NaN }
}
/** Child process role: subscribes its share of the sockets; on 'finish', waits for every event and reports latencies. */
async function receiverRole() {
  // The job comes over IPC (5,000 cookies do not fit in the environment).
  const job = await new Promise(resolve => process.once('message', resolve))
  const receipts = [] // marker, receive time (monotonic ns), …
  const connectTimes = []
  let errors = 0
  const clients = []
  const markerPattern = new RegExp(`"to":"(${job.prefix}\\d+)"`)
  for (let i = 0; i < job.cookies.length; i += 250) {
    await Promise.all(job.cookies.slice(i, i + 250).map(cookie => new Promise((resolve) => {
      const started = performance.now()
      if (job.client === 'raw') {
        // The same protocol by hand, reading only what it needs: shows the server's side of the latency.
        const socket = new WebSocket(job.wsUrl, { headers: { cookie }, perMessageDeflate: false })
        socket.on('open', () => socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'project.onEvent', input: { json: { projectId: job.projectId } } } })))
        socket.on('message', (data) => {
          const text = data.toString()
          if (text === 'PING') return socket.send('PONG')
          if (text.includes('"type":"started"')) {
            connectTimes.push(performance.now() - started)
            return resolve()
          }
          if (text.includes('"error"')) {
            errors++
            return resolve()
          }
          const marker = markerPattern.exec(text)?.[1]
          if (marker) receipts.push(marker, process.hrtime.bigint())
        })
        clients.push({ socket, sub: { unsubscribe: () => {} } })
        return
      }
      const socket = createWSClient({ url: job.wsUrl, WebSocket: headerWebSocket({ cookie }), retryDelayMs: () => 1000 })
      const client = createTRPCClient({ links: [wsLink({ client: socket, transformer: superjson })] })
      const sub = client.project.onEvent.subscribe({ projectId: job.projectId }, {
        onStarted: () => {
          connectTimes.push(performance.now() - started)
          resolve()
        },
        onData: ({ data }) => {
          const marker = data.data?.changes?.title?.to
          if (typeof marker === 'string' && marker.startsWith(job.prefix)) receipts.push(marker, process.hrtime.bigint())
        },
        onError: (error) => {
          errors++
          console.error(`subscription error: ${error.message}`)
          resolve()
        },
      })
      clients.push({ socket, sub })
    })))
  }
  process.send({ type: 'ready', connectTimes, errors })
  process.on('message', async (message) => {
    if (message.type !== 'finish') return
    const sent = new Map(message.sent.map(([marker, at]) => [marker, BigInt(at)]))
    const expected = sent.size * job.cookies.length
    const deadline = Date.now() + 15_000
    while (receipts.length / 2 < expected && Date.now() < deadline) await sleep(50)
    const latencies = []
    for (let i = 0; i < receipts.length; i += 2) {
      const at = sent.get(receipts[i])
      if (at !== undefined) latencies.push(Number(receipts[i + 1] - at) / 1e6)
    }
    for (const { socket, sub } of clients) {
      sub.unsubscribe()
      socket.close()
    }
    process.send({ type: 'done', latencies, received: receipts.length / 2, errors }, () => process.exit(0))
  })
}

function startReceiver(job) {
  const child = fork(new URL(import.meta.url).pathname, ['--role=receiver'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  child.send(job)
  let done
  const finished = new Promise((resolve) => {
    done = resolve
  })
  const ready = new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.type === 'ready') resolve(message)
      if (message.type === 'done') done(message)
    })
    child.once('exit', code => code !== 0 && reject(new Error(`receiver exited with ${code}`)))
  })
  return {
    ready,
    finish: (sent) => {
      child.send({ type: 'finish', sent })
      return finished
    },
  }
}

function runWriter(job) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--role=writer', `--rate=${RATE}`, `--duration=${DURATION / 1000}`], {
      env: { ...process.env, BENCH_WRITER: JSON.stringify({ ...job, tasks: job.tasks.map(t => ({ id: t.id, version: t.version })) }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    child.once('message', resolve)
    child.once('exit', code => code !== 0 && reject(new Error(`writer exited with ${code}`)))
  })
}

async function main() {
  const cleanup = []
  process.on('exit', () => {
    for (const fn of cleanup.splice(0).reverse()) fn()
  })
  process.on('SIGINT', () => process.exit(130))

  async function startRedis() {
    const bin = ['/usr/bin/redis-server', ...(process.env.PATH ?? '').split(':').map(d => join(d, 'redis-server'))].find(p => existsSync(p))
    if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)')
    const port = await freePort()
    const proc = spawn(bin, ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' })
    cleanup.push(() => proc.kill('SIGKILL'))
    for (let i = 0; i < 200; i++) {
      const ok = await new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1')
        socket.once('connect', () => socket.end() && resolve(true))
        socket.once('error', () => resolve(false))
      })
      if (ok) return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
      await sleep(50)
    }
    throw new Error('redis-server did not start')
  }

  /** The production server; with `keep`, on a given port and data folder that outlive it (restarts). */
  async function startServer(extraEnv, keep = null) {
    const port = keep?.port ?? await freePort()
    const base = `http://127.0.0.1:${port}`
    const dataDir = keep?.dataDir ?? mkdtempSync(join(tmpdir(), 'tt-bench-ws-'))
    const proc = spawn(process.execPath, ['.output/server/index.mjs'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_ORIGIN: base, PGLITE_DIR: join(dataDir, 'db'), SEED_DEMO: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATABASE_URL: '', REDIS_URL: '', ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    const exited = new Promise(resolve => proc.once('exit', resolve))
    const stop = async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM')
        const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(killer)
      }
      if (!keep) rmSync(dataDir, { recursive: true, force: true })
    }
    cleanup.push(() => proc.kill('SIGKILL'))
    const deadline = Date.now() + 90_000
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${base}/api/trpc/auth.me`)).ok) return { base, pid: proc.pid, stop, port, dataDir }
      }
      catch {
      // not listening yet
      }
      await sleep(200)
    }
    throw new Error('server did not start')
  }

  /** Resident memory of a process, in KiB. */
  const rssKiB = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])

  const r1 = x => Math.round(x * 10) / 10

  async function runBus(busName) {
    const redis = busName === 'redis' ? await startRedis() : null
    const env = redis ? { REDIS_URL: redis.url } : {}
    const keep = { port: await freePort(), dataDir: mkdtempSync(join(tmpdir(), 'tt-bench-ws-')) }
    cleanup.push(() => rmSync(keep.dataDir, { recursive: true, force: true }))
    let server = await startServer(env, keep)
    const owner = httpCaller(server.base)
    await owner.call('mutation', 'auth.register', { email: 'owner@bench.test', username: 'benchowner', name: 'Bench Owner', password: 'benchmark-password' })
    const project = await owner.call('mutation', 'project.create', { name: 'Fan-out benchmark' })
    const tasks = []
    for (let i = 0; i < TASKS; i++) tasks.push(await owner.call('mutation', 'task.create', { projectId: project.id, title: `Task ${i}` }))

    const users = [] // cookies of members
    async function ensureUsers(count) {
      while (users.length < count) {
        const i = users.length
        const user = httpCaller(server.base)
        await user.call('mutation', 'auth.register', { email: `u${i}@bench.test`, username: `benchuser${i}`, name: `Bench User ${i}`, password: 'benchmark-password' })
        await owner.call('mutation', 'member.add', { projectId: project.id, username: `benchuser${i}`, role: 'MEMBER' })
        users.push(user.cookie())
      }
    }

    const results = []
    await ensureUsers(Math.ceil(Math.max(...SIZES) / PER_USER))
    for (const n of SIZES) {
      // A fresh process per N (same data): its RSS before the sockets is not inflated by the
      // password hashing of the sign-ups or by the previous N's sockets.
      await server.stop()
      server = await startServer(env, keep)
      await owner.call('query', 'auth.me', null)
      // Warm the socket path up (code, JIT, heap) with 100 sockets that leave again.
      const wsUrlWarm = `${server.base.replace('http', 'ws')}/api/trpc-ws`
      const warm = startReceiver({ wsUrl: wsUrlWarm, projectId: project.id, cookies: users.slice(0, 4).flatMap(c => Array(25).fill(c)), prefix: 'warm-', client: CLIENT })
      await warm.ready
      await warm.finish([])
      await sleep(2000)
      const rssBefore = rssKiB(server.pid)
      const sent = new Map() // marker → send time (monotonic ns, from the writer process)
      const wsUrl = `${server.base.replace('http', 'ws')}/api/trpc-ws`
      const t0 = performance.now()
      // Receivers in RECEIVERS processes: one event loop decoding every frame of 5,000 stock clients
      // would measure the load generator, not the server.
      const share = Math.ceil(n / RECEIVERS)
      const receivers = []
      for (let r = 0; r < RECEIVERS && r * share < n; r++) {
        const from = r * share
        const count = Math.min(share, n - from)
        const cookies = Array.from({ length: count }, (_, j) => users[Math.floor((from + j) / PER_USER)])
        receivers.push(startReceiver({ wsUrl, projectId: project.id, cookies, prefix: `bench-${n}-`, client: CLIENT }))
      }
      const ready = await Promise.all(receivers.map(r => r.ready))
      const connectTimes = ready.flatMap(r => r.connectTimes)
      let errors = ready.reduce((sum, r) => sum + r.errors, 0)
      const connectAll = performance.now() - t0
      await sleep(2000)
      const rssIdle = rssKiB(server.pid)

      // The writer runs in its own process too; all read the system-wide monotonic clock, so send
      // and receive times compare.
      // Warm-up writes (not measured): JIT and heap sizing of the write and fan-out paths.
      const warmup = await runWriter({ base: server.base, cookie: owner.cookie(), tasks, prefix: `warm-${n}-`, durationMs: 3000 })
      for (const task of tasks) task.version = warmup.versions[task.id] ?? task.version
      const start = performance.now()
      const writer = await runWriter({ base: server.base, cookie: owner.cookie(), tasks, prefix: `bench-${n}-` })
      for (const [marker, at] of writer.sent) sent.set(marker, at)
      const reports = await Promise.all(receivers.map(r => r.finish([...sent])))
      const elapsed = (performance.now() - start) / 1000
      const rssLoaded = rssKiB(server.pid)
      const latencies = reports.flatMap(r => r.latencies)
      const received = reports.reduce((sum, r) => sum + r.received, 0)
      errors += reports.reduce((sum, r) => sum + r.errors, 0)
      const expected = sent.size * n
      const replies = writer.replies
      const writeErrors = writer.errors
      for (const task of tasks) task.version = writer.versions[task.id] ?? task.version

      const lat = stats(latencies)
      const conn = stats(connectTimes)
      const reply = stats(replies)
      const result = {
        bus: busName,
        client: CLIENT,
        n,
        connectAllMs: Math.round(connectAll),
        connectP50: r1(conn.p50),
        connectP99: r1(conn.p99),
        updates: sent.size,
        deliveries: received,
        lost: expected - received,
        deliveriesPerSec: Math.round(received / elapsed),
        p50: r1(lat.p50),
        p95: r1(lat.p95),
        p99: r1(lat.p99),
        max: r1(lat.max),
        errors: errors + writeErrors,
        replyP50: r1(reply.p50),
        replyP99: r1(reply.p99),
        rssBeforeMiB: r1(rssBefore / 1024),
        rssIdleMiB: r1(rssIdle / 1024),
        rssLoadedMiB: r1(rssLoaded / 1024),
        kibPerIdleConnection: r1((rssIdle - rssBefore) / n),
      }
      results.push(result)
      console.log(JSON.stringify(result))

      await sleep(2000)
    }
    await server.stop()
    redis?.stop()
    return results
  }

  async function runPresence(busName) {
    const USERS = Number(args.users ?? 1000)
    const PROJECTS = Number(args.projects ?? 10)
    const PERIOD = Number(args.period ?? 3) * 1000
    const redis = busName === 'redis' ? await startRedis() : null
    const server = await startServer(redis ? { REDIS_URL: redis.url } : {})
    const owner = httpCaller(server.base)
    await owner.call('mutation', 'auth.register', { email: 'owner@bench.test', username: 'benchowner', name: 'Bench Owner', password: 'benchmark-password' })
    const projects = []
    for (let i = 0; i < PROJECTS; i++) projects.push(await owner.call('mutation', 'project.create', { name: `Presence ${i}` }))
    const users = []
    let next = 0
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < USERS) {
        const i = next++
        const user = httpCaller(server.base)
        const me = await user.call('mutation', 'auth.register', { email: `p${i}@bench.test`, username: `presence${i}`, name: `Presence ${i}`, password: 'benchmark-password' })
        const project = projects[i % PROJECTS]
        await owner.call('mutation', 'member.add', { projectId: project.id, username: `presence${i}`, role: 'MEMBER' })
        users[i] = { id: me.id, cookie: user.cookie(), projectId: project.id }
      }
    }))
    const wsUrl = `${server.base.replace('http', 'ws')}/api/trpc-ws`
    const changes = new Map() // `${userId} ${what}` → time the call was sent
    const latencies = []
    let messages = 0
    let errors = 0
    const clients = []
    const rssBefore = rssKiB(server.pid)
    for (let i = 0; i < USERS; i += 200) {
      await Promise.all(users.slice(i, i + 200).map(user => new Promise((resolve) => {
        const socket = createWSClient({ url: wsUrl, WebSocket: headerWebSocket({ cookie: user.cookie }), retryDelayMs: () => 1000 })
        const client = createTRPCClient({ links: [wsLink({ client: socket, transformer: superjson })] })
        const seen = new Set()
        let measuring = false
        const sub = client.presence.onProject.subscribe({ projectId: user.projectId }, {
          onData: (message) => {
            if (message.kind === 'snapshot') return resolve()
            if (!measuring) return
            messages++
            const now = performance.now()
            for (const state of message.upsert) {
              if (state.userId === user.id) continue
              for (const what of [...state.taskIds.map(t => `view ${t}`), ...state.typing.map(t => `type ${t.taskId}`)]) {
                const key = `${state.userId} ${what}`
                const at = changes.get(key)
                if (at !== undefined && !seen.has(`${key} ${at}`)) {
                  seen.add(`${key} ${at}`)
                  latencies.push(now - at)
                }
              }
            }
          },
          onError: (error) => {
            errors++
            console.error(error.message)
            resolve()
          },
        })
        clients.push({ user, client, socket, sub, start: () => (measuring = true) })
      })))
    }
    await sleep(2000)
    const rssIdle = rssKiB(server.pid)
    for (const c of clients) c.start()
    const start = performance.now()
    let calls = 0
    // Every user acts on its own random schedule: view another task, sometimes type a burst there.
    await Promise.all(clients.map(async ({ user, client }, i) => {
      await sleep(Math.random() * PERIOD)
      let n = 0
      while (performance.now() - start < DURATION) {
        const taskId = `task-${i}-${n++}`
        try {
          changes.set(`${user.id} view ${taskId}`, performance.now())
          await client.presence.update.mutate({ projectId: user.projectId, taskId })
          calls++
          if (Math.random() < 0.3) {
            changes.set(`${user.id} type ${taskId}`, performance.now())
            await client.presence.typing.mutate({ projectId: user.projectId, taskId, field: 'description' })
            calls++
          }
        }
        catch (error) {
          errors++
          console.error(error.message)
        }
        await sleep(PERIOD * (0.5 + Math.random()))
      }
    }))
    const elapsed = (performance.now() - start) / 1000
    const lat = stats(latencies)
    const result = {
      scenario: 'presence',
      bus: busName,
      users: USERS,
      projects: PROJECTS,
      callsPerSec: Math.round(calls / elapsed),
      measured: lat.n,
      p50: r1(lat.p50),
      p95: r1(lat.p95),
      p99: r1(lat.p99),
      max: r1(lat.max),
      messagesPerClientPerSec: r1(messages / USERS / elapsed),
      errors,
      kibPerIdleConnection: r1((rssIdle - rssBefore) / USERS),
    }
    console.log(JSON.stringify(result))
    for (const { sub, socket } of clients) {
      sub.unsubscribe()
      socket.close()
    }
    server.stop()
    redis?.stop()
    return result
  }

  if (SCENARIO === 'presence') {
    const all = []
    for (const bus of BUSES) all.push(await runPresence(bus))
    console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator on the same cores.\n`)
    console.log('| bus | users / projects | calls/s | presence latency p50 | p95 | p99 | max | messages per client per s | errors |')
    console.log('|---|---|---|---|---|---|---|---|---|')
    for (const r of all) console.log(`| ${r.bus} | ${r.users} / ${r.projects} | ${r.callsPerSec} | ${r.p50} ms | ${r.p95} ms | ${r.p99} ms | ${r.max} ms | ${r.messagesPerClientPerSec} | ${r.errors} |`)
    if (args.json) writeFileSync(args.json, JSON.stringify(all, null, 2))
    process.exit(0)
  }

  const all = []
  for (const bus of BUSES) all.push(...(await runBus(bus)))

  console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator on the same cores.`)
  console.log(`Writer: ${RATE} task.update/s over HTTP for ${DURATION / 1000} s; each event reaches every socket.\n`)
  console.log('| bus | client | sockets | connect all | p50 | p95 | p99 | max | mutation reply p50 / p99 | deliveries/s | lost | errors | RSS/idle conn |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of all) {
    console.log(`| ${r.bus} | ${r.client} | ${r.n} | ${r.connectAllMs} ms | ${r.p50} ms | ${r.p95} ms | ${r.p99} ms | ${r.max} ms | ${r.replyP50} / ${r.replyP99} ms | ${r.deliveriesPerSec} | ${r.lost} | ${r.errors} | ${r.kibPerIdleConnection} KiB |`)
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(all, null, 2))
  process.exit(0)
}
