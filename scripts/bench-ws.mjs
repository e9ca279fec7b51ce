// `npm run bench:ws`: real-time fan-out benchmark against the production build.
// For each bus (in-process, then Redis) it starts `node .output/server/index.mjs` on a free loopback
// port with a fresh embedded database, creates a project, and for each N opens N authenticated
// sockets through the stock @trpc/client (createWSClient + wsLink + superjson), each subscribed to
// the project's `project.onEvent`. A writer then updates tasks over HTTP at a fixed rate; every
// update's event must reach every socket. Reported per run: connect time, delivery latency
// (mutation sent → event received, one clock: the writer and the sockets share this process),
// deliveries/s, lost deliveries, errors, and the server's RSS per idle connection.
// Options: --n=100,1000,5000 --bus=memory,redis --rate=5 (updates/s) --duration=10 (s)
//          --per-user=25 (sockets per user: the per-user socket rate limit allows 30 calls at once)
//          --json=<file> (also write the results as JSON)
// Presence scenario (`npm run bench:ws -- --scenario=presence`): --users=1000 in --projects=10, each
// on its own socket subscribed to its project's presence, changing the task it views every few
// seconds (--period=3 s on average) with typing bursts; reports the latency from a
// presence.update/typing call to the patch that shows it at every other member, and presence
// messages per client per second after coalescing.
import { fork, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import WebSocket from 'ws'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const SIZES = String(args.n ?? '100,1000,5000').split(',').map(Number)
const BUSES = String(args.bus ?? 'memory,redis').split(',')
const RATE = Number(args.rate ?? 5)
const DURATION = Number(args.duration ?? 10) * 1000
const PER_USER = Number(args['per-user'] ?? 25)
const TASKS = 20
const SCENARIO = String(args.scenario ?? 'fanout')

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Child process role: RATE task.updates per second for DURATION, reporting marker → send time. */
if (args.role === 'writer') {
  const job = JSON.parse(process.env.BENCH_WRITER)
  const tasks = job.tasks
  const sent = []
  const replies = []
  let errors = 0
  const start = performance.now()
  for (let k = 0; performance.now() - start < DURATION; k++) {
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
  const freePort = () => new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
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

  async function startServer(extraEnv) {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const dataDir = mkdtempSync(join(tmpdir(), 'tt-bench-ws-'))
    const proc = spawn(process.execPath, ['.output/server/index.mjs'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_ORIGIN: base, PGLITE_DIR: join(dataDir, 'db'), SEED_DEMO: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATABASE_URL: '', REDIS_URL: '', ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    const stop = () => {
      proc.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
    }
    cleanup.push(stop)
    const deadline = Date.now() + 90_000
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${base}/api/trpc/auth.me`)).ok) return { base, pid: proc.pid, stop }
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

  function httpCaller(base) {
    let cookie = ''
    const call = async (type, path, input) => {
      const url = type === 'query'
        ? `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`
        : `${base}/api/trpc/${path}`
      const res = await fetch(url, {
        method: type === 'query' ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: type === 'query' ? undefined : JSON.stringify(superjson.serialize(input)),
      })
      const setCookie = res.headers.get('set-cookie')
      if (setCookie) cookie = setCookie.split(';')[0]
      const body = await res.json()
      if (body.error) throw new Error(`${path}: ${JSON.stringify(body.error.json?.message ?? body.error)}`)
      return superjson.deserialize(body.result.data)
    }
    return { call, cookie: () => cookie }
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

  const r1 = x => Math.round(x * 10) / 10

  async function runBus(busName) {
    const redis = busName === 'redis' ? await startRedis() : null
    const server = await startServer(redis ? { REDIS_URL: redis.url } : {})
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
    for (const n of SIZES) {
      await ensureUsers(Math.ceil(n / PER_USER))
      await sleep(1000)
      const rssBefore = rssKiB(server.pid)
      const sent = new Map() // marker → send time (monotonic ns, from the writer process)
      const receipts = [] // marker, receive time (monotonic ns), …
      let received = 0
      let errors = 0
      const connectTimes = []
      const clients = []
      const wsUrl = `${server.base.replace('http', 'ws')}/api/trpc-ws`
      const t0 = performance.now()
      // Open in waves, as a crowd of browsers would, without overflowing the accept queue.
      for (let i = 0; i < n; i += 250) {
        await Promise.all(Array.from({ length: Math.min(250, n - i) }, (_, j) => new Promise((resolve) => {
          const started = performance.now()
          const socket = createWSClient({ url: wsUrl, WebSocket: headerWebSocket({ cookie: users[Math.floor((i + j) / PER_USER)] }), retryDelayMs: () => 1000 })
          const client = createTRPCClient({ links: [wsLink({ client: socket, transformer: superjson })] })
          const sub = client.project.onEvent.subscribe({ projectId: project.id }, {
            onStarted: () => {
              connectTimes.push(performance.now() - started)
              resolve()
            },
            onData: ({ data }) => {
              const marker = data.data?.changes?.title?.to
              if (typeof marker === 'string' && marker.startsWith(`bench-${n}-`)) {
                receipts.push(marker, process.hrtime.bigint())
                received++
              }
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
      const connectAll = performance.now() - t0
      await sleep(2000)
      const rssIdle = rssKiB(server.pid)

      // The writer runs in its own process (its event loop is not the one decoding N sockets' frames);
      // both read the system-wide monotonic clock, so send and receive times compare.
      const start = performance.now()
      const writer = await runWriter({ base: server.base, cookie: owner.cookie(), tasks, prefix: `bench-${n}-` })
      for (const [marker, at] of writer.sent) sent.set(marker, BigInt(at))
      const expected = sent.size * n
      const drainDeadline = Date.now() + 15_000
      while (received < expected && Date.now() < drainDeadline) await sleep(50)
      const elapsed = (performance.now() - start) / 1000
      const rssLoaded = rssKiB(server.pid)
      const latencies = []
      for (let i = 0; i < receipts.length; i += 2) {
        const at = sent.get(receipts[i])
        if (at !== undefined) latencies.push(Number(receipts[i + 1] - at) / 1e6)
      }
      const replies = writer.replies
      const writeErrors = writer.errors
      for (const task of tasks) task.version = writer.versions[task.id] ?? task.version

      const lat = stats(latencies)
      const conn = stats(connectTimes)
      const reply = stats(replies)
      const result = {
        bus: busName,
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

      for (const { socket, sub } of clients) {
        sub.unsubscribe()
        socket.close()
      }
      await sleep(2000)
    }
    server.stop()
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
  console.log('| bus | sockets | connect all | p50 | p95 | p99 | max | mutation reply p50 / p99 | deliveries/s | lost | errors | RSS/idle conn |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of all) {
    console.log(`| ${r.bus} | ${r.n} | ${r.connectAllMs} ms | ${r.p50} ms | ${r.p95} ms | ${r.p99} ms | ${r.max} ms | ${r.replyP50} / ${r.replyP99} ms | ${r.deliveriesPerSec} | ${r.lost} | ${r.errors} | ${r.kibPerIdleConnection} KiB |`)
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(all, null, 2))
  process.exit(0)
}
