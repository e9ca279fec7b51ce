// `npm run bench:ws`: real-time fan-out benchmark against the production build, with peers.
// For each N it starts `node .output/server/index.mjs` (fresh process on the same embedded
// database; with --bus=redis also a local redis-server and REDIS_URL), opens N sockets subscribed to
// one project's `project.onEvent`, and has a writer process update task descriptions (300 bytes,
// starting with a marker) at a fixed rate, open loop. Then the same N, payload and rate against the
// peers of scripts/bench-ws-peer.mjs in the same invocation: a bare `ws` broadcast server, the same
// through a Redis channel, and Socket.IO with @socket.io/redis-adapter; every row of ours is printed
// as a ratio to each peer. Per row: connect+subscribe time of the N sockets (session cookie; for ours
// also a ticket per socket, minted over HTTP before the storm and timed apart, as API clients do), delivery latency (write sent → event received,
// system-wide monotonic clock), deliveries/s against offered, loss counted per (socket, event) with
// duplicates apart, and KiB per idle subscribed socket after two forced GCs (the servers run with
// --expose-gc and --inspect; `gc()` through the inspector), as RSS and V8 heap.
// Options: --n=1000,5000 --bus=memory,redis --peers=ws,ws-redis,socketio-redis (socketio = no Redis;
//          ws-redis-x2, socketio-redis-x2 = two peer processes on one Redis, the peers of --bus=cluster)
//          --rate=10 (writes/s) --duration=10 (s) --payload=300 (bytes) --per-user=25 (sockets per user)
//          --auth=cookie,ticket --client=wslink|raw (default: wslink below 5,000, raw from 5,000 — the
//          stock client decoding thousands of frames measures the generator; raw is plain `ws`
//          speaking tRPC's protocol, as the bare peer's clients do)
//          --json=<file> (also write the rows as JSON) --cpu-prof=<dir> (V8 CPU profiles of our servers and the peers)
//          --alloc-prof=<dir> (what each server of ours allocates during the cookie storm, garbage included)
//          --receiver-prof=<dir> (CPU profiles of the load generator's receiver processes: is the client the limit?)
//          --heap-snapshot=<dir> (V8 heap snapshots of each server before and after its idle sockets; compare
//          them with `node scripts/heap-diff.mjs before.heapsnapshot after.heapsnapshot N`)
//          --bus=cluster: two instances of ours with Redis on PostgreSQL (--db=postgres|pglite)
// Presence scenario (`npm run bench:ws -- --scenario=presence`): --users=1000 in --projects=10, each
// on its own socket subscribed to its project's presence, changing the task it views every few
// seconds (--period=3 s on average) with typing bursts; reports the latency from a
// presence.update/typing call to the patch that shows it at every other member, presence
// messages per client per second after coalescing, and losses per (socket, change) for every change
// that stayed current for 1 s or more; --client=raw (default) or wslink.
import { fork, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import WebSocket from 'ws'
import { freePort, httpCaller, startPostgres, startRedis } from './bench-lib.mjs'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const SIZES = String(args.n ?? '100,1000,5000').split(',').map(Number)
const BUSES = String(args.bus ?? 'memory,redis').split(',')
/** Our database: the embedded PGlite, or a local PostgreSQL (needed by two instances: `--bus=cluster`). */
const DB = String(args.db ?? (BUSES.includes('cluster') ? 'postgres' : 'pglite'))
const RATE = Number(args.rate ?? 10)
const PAYLOAD = Number(args.payload ?? 300)
const DURATION = Number(args.duration ?? 10) * 1000
const PER_USER = Number(args['per-user'] ?? 25)
const TASKS = 20
const SCENARIO = String(args.scenario ?? 'fanout')
/** Presence clients: raw (plain `ws` speaking tRPC's protocol, the default) or wslink (the stock client). */
const PRESENCE_CLIENT = String(args.client ?? 'raw')
/** Client of our server: wslink below 5,000 sockets, raw from 5,000 (the stock client would measure the generator). */
const clientFor = n => String(args.client ?? (n >= 5000 ? 'raw' : 'wslink'))
/** Peers run in the same invocation for each N (bench-ws-peer.mjs): ws, ws-redis, socketio, socketio-redis, and two processes of a Redis one (`-x2`). */
const PEERS = String(args.peers ?? 'ws,ws-redis,socketio-redis').split(',').filter(Boolean)
/** Connect+subscribe storms of ours: with the session cookie (the measured run) and with a ticket per socket. */
const AUTHS = String(args.auth ?? 'cookie,ticket').split(',')
/** `--cpu-prof=<dir>`: each server of ours writes a V8 CPU profile there when it stops (open it in Chrome DevTools). */
const cpuProfile = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : []
/** `--heap-snapshot=<dir>`: heap snapshots of each server before and after its N idle sockets connect. */
const heapSnapshotDir = args['heap-snapshot'] ? String(args['heap-snapshot']) : null
/** `--alloc-prof=<dir>`: sampling allocation profiles of our servers during the cookie storm. */
const allocProfileDir = args['alloc-prof'] ? String(args['alloc-prof']) : null
/** Limits the bench lifts on our server: thousands of sockets per user and address, hundreds of sign-ups, slow storms. */
const benchLimits = { WS_MAX_PER_USER: '100000', WS_MAX_PER_IP: '1000000', REGISTER_LIMIT_PER_IP: '1000000', WS_AUTH_TIMEOUT_SECONDS: '300', HTTP_CALL_BURST: '1000000', HTTP_CALLS_PER_SECOND: '1000000' }

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Child process role: RATE writes per second for DURATION (task.update on ours, POST /publish on a peer), reporting marker → send time. */
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
  if (job.target === 'ours') for (let i = 0; i < 3; i++) await fetch(`${job.base}/api/trpc/auth.me`, { headers: { cookie: job.cookie } })
  const start = performance.now()
  const duration = job.durationMs ?? DURATION
  // Open loop: each write leaves at its time whether or not the previous ones were answered (a slow
  // write must not lower the offered rate); writes to the same task wait for its previous version.
  const chains = new Map()
  const writes = []
  async function write(k, task, marker) {
    const sentAt = process.hrtime.bigint()
    try {
      if (job.target === 'ours') {
        const res = await fetch(`${job.base}/api/trpc/task.update`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'cookie': job.cookie },
          body: JSON.stringify(superjson.serialize({ id: task.id, baseVersion: task.version, patch: { description: payloadOf(marker) } })),
        })
        const body = await res.json()
        if (body.error) throw new Error(JSON.stringify(body.error.json?.message ?? body.error))
        task.version = superjson.deserialize(body.result.data).version
      }
      else {
        const res = await fetch(`${job.base}/publish`, { method: 'POST', body: JSON.stringify({ marker }) })
        if (!res.ok) throw new Error(await res.text())
        await res.arrayBuffer()
      }
      replies.push(Number(process.hrtime.bigint() - sentAt) / 1e6)
      sent.push([marker, String(sentAt)])
    }
    catch (error) {
      errors++
      console.error(`writer: ${error.message}`)
    }
  }
  for (let k = 0; performance.now() - start < duration; k++) {
    const task = tasks.length ? tasks[k % tasks.length] : { id: 'peer' }
    const marker = `${job.prefix}${k}`
    const previous = job.target === 'ours' ? chains.get(task.id) : undefined
    const done = (previous ?? Promise.resolve()).then(() => write(k, task, marker))
    if (job.target === 'ours') chains.set(task.id, done)
    writes.push(done)
    const wait = start + ((k + 1) * 1000) / RATE - performance.now()
    if (wait > 0) await sleep(wait)
  }
  await Promise.all(writes)
  process.send({ sent, replies, errors, versions: Object.fromEntries(tasks.map(t => [t.id, t.version])) }, () => process.exit(0))
}
else {
  await main()
}

/** The task description each write sets: the marker, padded to PAYLOAD bytes (the peers send the same). */
function payloadOf(marker) {
  return marker.padEnd(PAYLOAD, '.')
}

function headerWebSocket(headers) {
  return class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers })
    }
  }
}

/** Passes a child's stderr through, without the inspector's greeting (the bench forces GC through it). */
function quietInspector(proc) {
  let rest = ''
  proc.stderr.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop()
    for (const line of lines) if (!/Debugger listening|Debugger ending|For help, see|Debugger attached|Waiting for the debugger/.test(line)) process.stderr.write(`${line}\n`)
  })
}

/** A DevTools protocol session with a process started with --inspect: `call(method, params)`, `on(event, listener)`, `close()`. */
async function inspectorSession(inspectPort) {
  const [target] = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()
  const socket = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 0 })
  await new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  let id = 0
  const pending = new Map()
  const listeners = new Map()
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString())
    if (message.id !== undefined) {
      pending.get(message.id)?.(message.result)
      pending.delete(message.id)
    }
    else listeners.get(message.method)?.(message.params)
  })
  return {
    call: (method, params = {}) => new Promise((resolve) => {
      pending.set(++id, resolve)
      socket.send(JSON.stringify({ id, method, params }))
    }),
    on: (method, listener) => listeners.set(method, listener),
    close: () => socket.close(),
  }
}

/**
 * Forces two full GCs in a process started with --expose-gc and --inspect (through the inspector:
 * `gc()` in its main context), then reads its RSS (/proc) and V8 heap in use. KiB.
 */
async function gcMeasure(inspectPort, pid, snapshotName) {
  const session = await inspectorSession(inspectPort)
  const chunks = []
  session.on('HeapProfiler.addHeapSnapshotChunk', params => chunks.push(params.chunk))
  const result = await session.call('Runtime.evaluate', { expression: 'globalThis.gc(); globalThis.gc(); process.memoryUsage().heapUsed', returnByValue: true })
  // `--heap-snapshot=<dir>`: a snapshot after the GCs (compare two with scripts/heap-diff.mjs).
  if (heapSnapshotDir && snapshotName) {
    await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
    writeFileSync(join(heapSnapshotDir, `${snapshotName}.heapsnapshot`), chunks.join(''))
  }
  session.close()
  const heapKiB = Number(result?.result?.value) / 1024
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  return { heapKiB, rssKiB }
}

/**
 * `--alloc-prof=<dir>`: what a process allocates until `stop()` is awaited, garbage included
 * (V8's sampling heap profiler, every 1 KiB on average, objects collected since counted too),
 * written to `<dir>/<name>.heapprofile` (open it in Chrome DevTools, Memory tab). A no-op without it.
 */
async function allocationProfile(inspectPort, name) {
  if (!allocProfileDir) return { stop: async () => {} }
  const session = await inspectorSession(inspectPort)
  await session.call('HeapProfiler.enable')
  await session.call('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  return {
    stop: async () => {
      const { profile } = await session.call('HeapProfiler.stopSampling')
      session.close()
      writeFileSync(join(allocProfileDir, `${name}.heapprofile`), JSON.stringify(profile))
    },
  }
}

/** A peer server (bench-ws-peer.mjs): `ws` or `socketio`, through Redis when `redisUrl` is given. */
async function startPeer(kind, redisUrl, channel) {
  const port = await freePort()
  const inspectPort = await freePort()
  const child = fork(new URL('./bench-ws-peer.mjs', import.meta.url).pathname, [`--kind=${kind}`, `--port=${port}`, `--payload=${PAYLOAD}`, ...(redisUrl ? [`--redis=${redisUrl}`, `--channel=${channel}`] : [])], {
    execArgv: ['--expose-gc', `--inspect=127.0.0.1:${inspectPort}`, ...cpuProfile],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  })
  quietInspector(child)
  await new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', code => reject(new Error(`peer ${kind} exited with ${code}`)))
  })
  // SIGTERM: the peer exits normally, so that a `--cpu-prof` profile is written.
  return { base: `http://127.0.0.1:${port}`, pid: child.pid, inspectPort, stop: () => child.kill(cpuProfile.length ? 'SIGTERM' : 'SIGKILL') }
}

function stats(samples) {
  const s = Float64Array.from(samples).sort()
  const q = p => s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : Number.NaN
  return { n: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.length ? s[s.length - 1] : Number.NaN }
}
/**
 * Child process role: opens its share of the sockets (`job.client`: raw = plain `ws` speaking tRPC's
 * protocol and asking for the compact frames (`wire: 2`) as our app's client does, as bare `ws` peers speak it too; wslink = the stock @trpc/client; socketio =
 * socket.io-client), authenticated by cookie or by a ticket minted per socket (`job.auth`); on
 * 'finish', waits for every (socket, event) and reports latencies, losses and duplicates.
 */
async function receiverRole() {
  // The job comes over IPC (5,000 cookies do not fit in the environment).
  const job = await new Promise(resolve => process.once('message', resolve))
  const connectTimes = []
  let errors = 0
  let duplicates = 0
  let distinct = 0
  const clients = []
  /** Per socket: marker → receive time (monotonic ns); a second receipt is a duplicate, never a delivery. */
  const receipts = job.auths.map(() => new Map())
  // The named form carries `"to":"<text>"`; the compact form (`wire: 2`, what our app's client asks for) `"description":"<text>"`.
  const markerPattern = new RegExp(`(?:"to"|"description"):"(${job.prefix}\\d+)`)
  const markerOf = (to) => {
    if (typeof to !== 'string' || !to.startsWith(job.prefix)) return null
    return /^[^.]*/.exec(to)[0]
  }
  const receive = (i, marker) => {
    if (!marker) return
    const seen = receipts[i]
    if (seen.has(marker)) duplicates++
    else {
      seen.set(marker, process.hrtime.bigint())
      distinct++
    }
  }
  async function ticketFor(cookie) {
    const res = await fetch(`${job.base}/api/trpc/auth.wsTicket`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: '{}' })
    const body = await res.json()
    if (body.error) throw new Error(`auth.wsTicket: ${JSON.stringify(body.error.json?.message ?? body.error)}`)
    return body.result.data.json.ticket
  }
  const open = async (auth, i) => {
    const started = performance.now()
    const done = () => connectTimes.push(performance.now() - started)
    if (job.client === 'socketio') {
      const { io } = await import('socket.io-client')
      const socket = io(job.wsUrl, { transports: ['websocket'], reconnectionDelay: 1000 })
      clients.push({ close: () => socket.close() })
      socket.on('event', event => receive(i, markerOf(event?.data?.changes?.description?.to)))
      await new Promise((resolve) => {
        socket.once('connect', () => socket.emit('subscribe', job.projectId, () => {
          done()
          resolve()
        }))
        socket.once('connect_error', (error) => {
          errors++
          console.error(`socket.io: ${error.message}`)
          resolve()
        })
      })
      return
    }
    const token = job.auth === 'ticket' ? tickets[i] : null
    if (job.client === 'raw') {
      // The same protocol by hand, reading only what it needs: shows the server's side of the latency.
      const url = token ? `${job.wsUrl}?connectionParams=1` : job.wsUrl
      const socket = new WebSocket(url, { headers: token ? {} : { cookie: auth.cookie }, perMessageDeflate: false })
      clients.push({ close: () => socket.close() })
      await new Promise((resolve) => {
        socket.on('open', () => {
          if (token) socket.send(JSON.stringify({ method: 'connectionParams', data: { token } }))
          socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'project.onEvent', input: { json: { projectId: job.projectId, wire: 2 } } } }))
        })
        socket.on('message', (data) => {
          const text = data.toString()
          if (text === 'PING') return socket.send('PONG')
          const marker = markerPattern.exec(text)?.[1]
          if (marker) return receive(i, marker)
          if (text.includes('"type":"started"')) {
            socket.startedAt = performance.now()
            done()
            return resolve()
          }
          if (text.includes('"error"')) {
            errors++
            console.error(`subscription error: ${text.slice(0, 200)}`)
            return resolve()
          }
        })
        socket.on('error', (error) => {
          errors++
          console.error(`socket: ${error.message}`)
          resolve()
        })
        // Closed before it started (a cap, or the authentication timeout in a slow storm): an error, not a hang.
        socket.on('close', (code) => {
          if (!socket.startedAt) {
            errors++
            console.error(`socket closed before its subscription started (${code})`)
            resolve()
          }
        })
      })
      return
    }
    const socket = createWSClient({
      url: job.wsUrl,
      WebSocket: headerWebSocket(token ? {} : { cookie: auth.cookie }),
      connectionParams: token ? () => ({ token }) : undefined,
      retryDelayMs: () => 1000,
    })
    const client = createTRPCClient({ links: [wsLink({ client: socket, transformer: superjson })] })
    await new Promise((resolve) => {
      const sub = client.project.onEvent.subscribe({ projectId: job.projectId }, {
        onStarted: () => {
          done()
          resolve()
        },
        onData: ({ data }) => receive(i, markerOf(data.data?.changes?.description?.to)),
        onError: (error) => {
          errors++
          console.error(`subscription error: ${error.message}`)
          resolve()
        },
      })
      clients.push({ close: () => {
        sub.unsubscribe()
        socket.close()
      } })
    })
  }
  // Tickets are minted first (an HTTP call each, as API clients do before they connect) and timed
  // apart: the storm below is then the sockets' connect + authenticate + subscribe, like the peers'.
  const tickets = []
  const m0 = performance.now()
  if (job.auth === 'ticket') {
    for (let i = 0; i < job.auths.length; i += 250) {
      await Promise.all(job.auths.slice(i, i + 250).map(async (auth, j) => {
        tickets[i + j] = await ticketFor(auth.cookie).catch((error) => {
          errors++
          console.error(error.message)
          return 'no-ticket'
        })
      }))
    }
  }
  const mintAllMs = performance.now() - m0
  const t0 = performance.now()
  for (let i = 0; i < job.auths.length; i += 250) {
    await Promise.all(job.auths.slice(i, i + 250).map((auth, j) => open(auth, i + j).catch((error) => {
      errors++
      console.error(error.message)
    })))
  }
  process.send({ type: 'ready', connectTimes, connectAllMs: performance.now() - t0, mintAllMs, errors })
  process.on('message', async (message) => {
    if (message.type !== 'finish') return
    const sent = message.sent.map(([marker, at]) => [marker, BigInt(at)])
    const expected = sent.length * job.auths.length
    const deadline = Date.now() + 15_000
    while (distinct < expected && Date.now() < deadline) await sleep(50)
    const latencies = []
    let lost = 0
    for (const seen of receipts) {
      for (const [marker, at] of sent) {
        const got = seen.get(marker)
        if (got === undefined) lost++
        else latencies.push(Number(got - at) / 1e6)
      }
    }
    for (const client of clients) client.close()
    process.send({ type: 'done', latencies, received: latencies.length, lost, duplicates, errors }, () => process.exit(0))
  })
}

function startReceiver(job) {
  const child = fork(new URL(import.meta.url).pathname, ['--role=receiver'], {
    execArgv: args['receiver-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['receiver-prof']}`] : [],
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
    const child = fork(new URL(import.meta.url).pathname, ['--role=writer', `--rate=${RATE}`, `--duration=${DURATION / 1000}`, `--payload=${PAYLOAD}`], {
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
  process.on('SIGTERM', () => process.exit(143))

  /** PostgreSQL for ours when DB is postgres (started in runFanout). */
  let postgres = null

  /** The production server; with `keep`, on a given port and data folder that outlive it (restarts). */
  async function startServer(extraEnv, keep = null) {
    const port = keep?.port ?? await freePort()
    const base = `http://127.0.0.1:${port}`
    const dataDir = keep?.dataDir ?? mkdtempSync(join(tmpdir(), 'tt-bench-ws-'))
    const inspectPort = await freePort()
    const proc = spawn(process.execPath, ['--expose-gc', `--inspect=127.0.0.1:${inspectPort}`, ...cpuProfile, '.output/server/index.mjs'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_ORIGIN: base, PGLITE_DIR: join(dataDir, 'db'), SEED_DEMO: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATABASE_URL: postgres?.url ?? '', REDIS_URL: '', ...benchLimits, ...extraEnv },
      stdio: ['ignore', 'inherit', 'pipe'],
    })
    quietInspector(proc)
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
        if ((await fetch(`${base}/api/trpc/auth.me`)).ok) return { base, pid: proc.pid, stop, port, dataDir, inspectPort }
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

  /** Heap and RSS of several server processes after forced GCs, summed. */
  async function memoryOf(processes, label, stage) {
    const all = await Promise.all(processes.map((p, k) => gcMeasure(p.inspectPort, p.pid, `${label}-${k}-${stage}`)))
    return { heapKiB: all.reduce((sum, m) => sum + m.heapKiB, 0), rssKiB: all.reduce((sum, m) => sum + m.rssKiB, 0) }
  }

  /** Several receiver processes as one: ready when all are, their samples and counts together. */
  const together = receivers => ({
    ready: Promise.all(receivers.map(r => r.ready)).then(all => ({
      connectTimes: all.flatMap(r => r.connectTimes),
      connectAllMs: Math.max(...all.map(r => r.connectAllMs)),
      mintAllMs: Math.max(...all.map(r => r.mintAllMs)),
      errors: all.reduce((sum, r) => sum + r.errors, 0),
    })),
    finish: sent => Promise.all(receivers.map(r => r.finish(sent))).then(all => ({
      latencies: all.flatMap(r => r.latencies),
      received: all.reduce((sum, r) => sum + r.received, 0),
      lost: all.reduce((sum, r) => sum + r.lost, 0),
      duplicates: all.reduce((sum, r) => sum + r.duplicates, 0),
      errors: all.reduce((sum, r) => sum + r.errors, 0),
    })),
  })

  /**
   * Our server's row for N sockets on `busName`: memory = one instance; redis = one instance with
   * REDIS_URL; cluster = two instances with REDIS_URL (PostgreSQL: `--db=postgres`, the default when
   * cluster is asked for), the sockets split half and half, the writer on the first one.
   */
  async function runOurs(setup, n, busName, redis) {
    const env = busName === 'memory' ? {} : { REDIS_URL: redis.url }
    // A fresh process per run (same data): its memory before the sockets is not inflated by the
    // password hashing of the sign-ups or by the previous run's sockets.
    await setup.server.stop()
    const servers = [setup.server = await startServer(env, setup.keep)]
    if (busName === 'cluster') servers.push(await startServer(env, { ...setup.keep, port: await freePort() }))
    const [server] = servers
    await setup.owner.call('query', 'auth.me', null)
    const wsUrlOf = s => `${s.base.replace('http', 'ws')}/api/trpc-ws`
    const client = clientFor(n)
    // Each phase has users of its own: a socket's subscribe takes one of its user's socket call
    // tokens (SOCKET_CALL_LIMIT: 30 at once), and PER_USER sockets of a user subscribe together.
    const authsFor = (count, phase) => Array.from({ length: count }, (_, j) => ({ cookie: setup.users[phase * setup.perPhase + Math.floor(j / PER_USER)] }))
    /** One receiver process per instance, each with its share of the sockets (whole users: PER_USER at a time). */
    const receiversFor = (count, phase, options) => {
      const auths = authsFor(count, phase)
      const share = Math.ceil(auths.length / servers.length / PER_USER) * PER_USER
      return servers.map((s, k) => startReceiver({ wsUrl: wsUrlOf(s), base: s.base, projectId: setup.project.id, auths: auths.slice(k * share, (k + 1) * share), client, ...options }))
    }
    const memory = stage => memoryOf(servers, `${busName}-${n}`, stage)
    // Warm the socket path up (code, JIT, heap) with 100 sockets that leave again.
    const warm = together(receiversFor(100, 2, { prefix: 'warm-', auth: 'cookie' }))
    await warm.ready
    await warm.finish([])
    await sleep(1000)
    const target = { memory: 'ours', redis: 'ours + Redis', cluster: 'ours ×2 + Redis' }[busName]
    const row = { target, bus: busName, db: DB, client, n }
    // Connect storms with a ticket per socket (API clients): N sockets mint, connect, subscribe, leave.
    if (AUTHS.includes('ticket')) {
      const storm = together(receiversFor(n, 1, { prefix: 'ticket-', auth: 'ticket' }))
      const ready = await storm.ready
      await storm.finish([])
      row.connectTicketMs = Math.round(ready.connectAllMs)
      row.mintTicketsMs = Math.round(ready.mintAllMs)
      row.ticketErrors = ready.errors
      await sleep(2000)
    }
    const before = await memory('before')
    const profiles = await Promise.all(servers.map((s, k) => allocationProfile(s.inspectPort, `${busName}-${n}-${k}-cookie-storm`)))
    const receiver = together(receiversFor(n, 0, { prefix: `bench-${busName}-${n}-`, auth: 'cookie' }))
    const ready = await receiver.ready
    await Promise.all(profiles.map(p => p.stop()))
    row.connectCookieMs = Math.round(ready.connectAllMs)
    await sleep(1000)
    const idle = await memory('idle')
    const writerJob = { target: 'ours', base: server.base, cookie: setup.owner.cookie(), tasks: setup.tasks }
    // Warm-up writes (not measured): JIT and heap sizing of the write and fan-out paths.
    const warmup = await runWriter({ ...writerJob, prefix: `warm-${n}-`, durationMs: 2000 })
    for (const task of setup.tasks) task.version = warmup.versions[task.id] ?? task.version
    const measured = await measureDeliveries(receiver, { ...writerJob, prefix: `bench-${busName}-${n}-` })
    for (const task of setup.tasks) task.version = measured.writer.versions[task.id] ?? task.version
    for (const extra of servers.slice(1)) await extra.stop()
    return finishRow(row, { ready, before, idle, measured, n })
  }

  /**
   * A peer's row: the same sockets, payload and rate against bench-ws-peer.mjs. A kind ending in
   * `-x2` (`ws-redis-x2`, `socketio-redis-x2`) runs two peer processes on one Redis, the sockets
   * split half and half and the writer on the first, as ours runs with `--bus=cluster`: the peers
   * of our two-instance row on the same cores.
   */
  async function runPeer(kind, n, redis) {
    const [server, withRedis, times] = kind.split('-')
    const count = times === 'x2' ? 2 : 1
    const channel = `bench-peer-${process.pid}-${kind}-${n}`
    const peers = []
    try {
      for (let k = 0; k < count; k++) peers.push(await startPeer(server, withRedis ? redis.url : null, channel))
      const client = server === 'socketio' ? 'socketio' : 'raw'
      const wsUrlOf = peer => server === 'socketio' ? peer.base : `${peer.base.replace('http', 'ws')}/`
      const authsFor = size => Array.from({ length: size }, () => ({ cookie: '' }))
      /** One receiver process per peer process, each with its share of the `total` sockets. */
      const receiversFor = (total, options) => {
        const share = Math.ceil(total / count)
        return peers.map((peer, k) => startReceiver({ wsUrl: wsUrlOf(peer), base: peer.base, projectId: 'p', auths: authsFor(Math.min(share, total - k * share)), client, auth: 'cookie', ...options }))
      }
      const warm = together(receiversFor(100, { prefix: 'warm-' }))
      await warm.ready
      await warm.finish([])
      await sleep(1000)
      const row = { target: kind, bus: withRedis ? 'redis' : 'memory', client, n }
      const memory = stage => memoryOf(peers, `${kind}-${n}`, stage)
      const before = await memory('before')
      const receiver = together(receiversFor(n, { prefix: `bench-${kind}-${n}-` }))
      const ready = await receiver.ready
      row.connectCookieMs = Math.round(ready.connectAllMs)
      await sleep(1000)
      const idle = await memory('idle')
      await runWriter({ target: 'peer', base: peers[0].base, tasks: [], prefix: `warm-${n}-`, durationMs: 2000 })
      const measured = await measureDeliveries(receiver, { target: 'peer', base: peers[0].base, tasks: [], prefix: `bench-${kind}-${n}-` })
      return finishRow(row, { ready, before, idle, measured, n })
    }
    finally {
      for (const peer of peers) peer.stop()
    }
  }

  async function measureDeliveries(receiver, writerJob) {
    const start = performance.now()
    const writer = await runWriter(writerJob)
    const report = await receiver.finish(writer.sent)
    return { writer, report, elapsed: (performance.now() - start) / 1000 }
  }

  function finishRow(row, { ready, before, idle, measured, n }) {
    const { writer, report, elapsed } = measured
    const lat = stats(report.latencies)
    const reply = stats(writer.replies)
    Object.assign(row, {
      connectP99: r1(stats(ready.connectTimes).p99),
      updates: writer.sent.length,
      // What the writer offered over its run; deliveries/s below it means a backlog (or losses).
      offeredPerSec: Math.round((writer.sent.length * n) / (DURATION / 1000)),
      deliveriesPerSec: Math.round(report.received / elapsed),
      lost: report.lost,
      duplicates: report.duplicates,
      errors: ready.errors + report.errors + writer.errors,
      p50: r1(lat.p50),
      p99: r1(lat.p99),
      max: r1(lat.max),
      writeP50: r1(reply.p50),
      kibPerSocketRss: r1((idle.rssKiB - before.rssKiB) / n),
      kibPerSocketHeap: r1((idle.heapKiB - before.heapKiB) / n),
    })
    console.log(JSON.stringify(row))
    return row
  }

  async function runFanout() {
    const redis = BUSES.some(b => b !== 'memory') || PEERS.some(p => p.includes('-redis')) ? await startRedis() : null
    if (DB === 'postgres') postgres = await startPostgres()
    const keep = { port: await freePort(), dataDir: mkdtempSync(join(tmpdir(), 'tt-bench-ws-')) }
    cleanup.push(() => rmSync(keep.dataDir, { recursive: true, force: true }))
    const server = await startServer({}, keep)
    const owner = httpCaller(server.base)
    await owner.call('mutation', 'auth.register', { email: 'owner@bench.test', username: 'benchowner', name: 'Bench Owner', password: 'benchmark-password' })
    const project = await owner.call('mutation', 'project.create', { name: 'Fan-out benchmark' })
    const tasks = []
    for (let i = 0; i < TASKS; i++) tasks.push(await owner.call('mutation', 'task.create', { projectId: project.id, title: `Task ${i}` }))
    const users = [] // cookies of members
    let next = 0
    // Three phases per run with users of their own (measured run, ticket storm, warm-up).
    const perPhase = Math.ceil(Math.max(...SIZES, 100) / PER_USER)
    const count = perPhase * 3
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < count) {
        const i = next++
        const user = httpCaller(server.base)
        await user.call('mutation', 'auth.register', { email: `u${i}@bench.test`, username: `benchuser${i}`, name: `Bench User ${i}`, password: 'benchmark-password' })
        await owner.call('mutation', 'member.add', { projectId: project.id, username: `benchuser${i}`, role: 'MEMBER' })
        users[i] = user.cookie()
      }
    }))
    const setup = { server, keep, owner, project, tasks, users, perPhase }
    const rows = []
    for (const n of SIZES) {
      for (const bus of BUSES) rows.push(await runOurs(setup, n, bus, redis))
      for (const peer of PEERS) rows.push(await runPeer(peer, n, redis))
    }
    await setup.server.stop()
    await redis?.stop()
    await postgres?.stop()
    return rows
  }

  async function runPresence(busName) {
    const USERS = Number(args.users ?? 1000)
    const PROJECTS = Number(args.projects ?? 10)
    const PERIOD = Number(args.period ?? 3) * 1000
    const redis = busName === 'redis' ? await startRedis() : null
    if (DB === 'postgres' && !postgres) postgres = await startPostgres()
    const server = await startServer(redis ? { REDIS_URL: redis.url } : {})
    const owner = httpCaller(server.base)
    await owner.call('mutation', 'auth.register', { email: 'owner@bench.test', username: 'benchowner', name: 'Bench Owner', password: 'benchmark-password' })
    const projects = []
    // presence.update / typing name real tasks of the project (anything else is NOT_FOUND): 20 each,
    // visited in turn from a random start, so no user views the same task twice in a run.
    const PRESENCE_TASKS = 20
    const projectTasks = new Map()
    for (let i = 0; i < PROJECTS; i++) {
      const project = await owner.call('mutation', 'project.create', { name: `Presence ${i}` })
      projects.push(project)
      const ids = []
      for (let t = 0; t < PRESENCE_TASKS; t++) ids.push((await owner.call('mutation', 'task.create', { projectId: project.id, title: `Presence task ${t}` })).id)
      projectTasks.set(project.id, ids)
    }
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
    /** Every change made: who, what, when, and when the same user changed again (it may be coalesced away before). */
    const made = []
    const latencies = []
    let messages = 0
    let errors = 0
    const clients = []
    const rssBefore = rssKiB(server.pid)
    const onPatch = (user, seen, message) => {
      messages++
      const now = performance.now()
      for (const state of message.upsert) {
        if (state.userId === user.id) continue
        for (const what of [...state.taskIds.map(t => `view ${t}`), ...state.typing.map(t => `type ${t.taskId}`)]) {
          const key = `${state.userId} ${what}`
          const at = changes.get(key)
          if (at !== undefined && !seen.has(key)) {
            seen.add(key)
            latencies.push(now - at)
          }
        }
      }
    }
    /** Raw client: plain `ws` speaking tRPC's protocol (as in the fan-out scenario), so the generator is not what is measured. */
    function rawPresenceClient(user, resolve) {
      const seen = new Set()
      let measuring = false
      let nextId = 2
      const waiting = new Map()
      const socket = new WebSocket(wsUrl, { headers: { cookie: user.cookie }, perMessageDeflate: false })
      socket.on('open', () => socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'presence.onProject', input: { json: { projectId: user.projectId } } } })))
      socket.on('message', (data) => {
        const text = data.toString()
        if (text === 'PING') return socket.send('PONG')
        const frame = JSON.parse(text)
        if (frame.id === 1) {
          const json = frame.result?.data?.json
          if (frame.error) {
            errors++
            console.error(`presence: ${text.slice(0, 200)}`)
            return resolve()
          }
          if (json?.kind === 'snapshot') return resolve()
          if (json?.kind === 'patch' && measuring) onPatch(user, seen, json)
          return
        }
        const reply = waiting.get(frame.id)
        if (reply) {
          waiting.delete(frame.id)
          reply(frame)
        }
      })
      socket.on('error', (error) => {
        errors++
        console.error(`socket: ${error.message}`)
        resolve()
      })
      const mutate = path => input => new Promise((done, fail) => {
        const id = nextId++
        waiting.set(id, frame => frame.error ? fail(new Error(JSON.stringify(frame.error.json?.message))) : done(frame.result))
        socket.send(JSON.stringify({ id, method: 'mutation', params: { path, input: { json: input } } }))
      })
      const client = { presence: { update: { mutate: mutate('presence.update') }, typing: { mutate: mutate('presence.typing') } } }
      return { user, client, seen, socket, sub: { unsubscribe: () => {} }, start: () => (measuring = true) }
    }
    for (let i = 0; i < USERS; i += 200) {
      await Promise.all(users.slice(i, i + 200).map(user => new Promise((resolve) => {
        if (PRESENCE_CLIENT === 'raw') return clients.push(rawPresenceClient(user, resolve))
        const socket = createWSClient({ url: wsUrl, WebSocket: headerWebSocket({ cookie: user.cookie }), retryDelayMs: () => 1000 })
        const client = createTRPCClient({ links: [wsLink({ client: socket, transformer: superjson })] })
        const seen = new Set()
        let measuring = false
        const sub = client.presence.onProject.subscribe({ projectId: user.projectId }, {
          onData: (message) => {
            if (message.kind === 'snapshot') return resolve()
            if (measuring) onPatch(user, seen, message)
          },
          onError: (error) => {
            errors++
            console.error(error.message)
            resolve()
          },
        })
        clients.push({ user, client, seen, socket, sub, start: () => (measuring = true) })
      })))
    }
    await sleep(2000)
    const rssIdle = rssKiB(server.pid)
    for (const c of clients) c.start()
    const start = performance.now()
    let calls = 0
    // Every user acts on its own random schedule: view another task, sometimes type a burst there.
    await Promise.all(clients.map(async ({ user, client }) => {
      await sleep(Math.random() * PERIOD)
      let n = 0
      let previous = null
      const ids = projectTasks.get(user.projectId)
      const offset = Math.floor(Math.random() * ids.length)
      while (performance.now() - start < DURATION && n < ids.length) {
        const taskId = ids[(offset + n++) % ids.length]
        try {
          const at = performance.now()
          if (previous) previous.until = at
          if (previous?.typing) previous.typing.until = Math.min(at, previous.typing.until)
          previous = { user, key: `${user.id} view ${taskId}`, at, until: Infinity }
          made.push(previous)
          changes.set(previous.key, at)
          await client.presence.update.mutate({ projectId: user.projectId, taskId })
          calls++
          if (Math.random() < 0.3) {
            // Typing lasts 5 s (presenceTiming.typingMs) unless the user moves on: it ends with the view.
            const typedAt = performance.now()
            const typed = { user, key: `${user.id} type ${taskId}`, at: typedAt, until: typedAt + 5_000 }
            made.push(typed)
            previous.typing = typed
            changes.set(typed.key, typed.at)
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
    const end = performance.now()
    const elapsed = (end - start) / 1000
    // Let the last patches arrive (until nothing new for 1 s), then count losses: every change that
    // stayed the user's state for 1 s or more (far longer than the 150 ms coalescing window) must
    // have reached every other member's socket; a change replaced sooner may be coalesced away.
    for (let count = -1; count !== latencies.length;) {
      count = latencies.length
      await sleep(1000)
    }
    const byProject = new Map()
    for (const c of clients) byProject.set(c.user.projectId, [...(byProject.get(c.user.projectId) ?? []), c])
    let expected = 0
    let lost = 0
    for (const change of made) {
      if (Math.min(change.until, end) - change.at < 1000) continue
      for (const other of byProject.get(change.user.projectId)) {
        if (other.user === change.user) continue
        expected++
        if (!other.seen.has(change.key)) lost++
      }
    }
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
      client: PRESENCE_CLIENT,
      expected,
      lost,
      errors,
      kibPerIdleConnection: r1((rssIdle - rssBefore) / USERS),
    }
    console.log(JSON.stringify(result))
    for (const { sub, socket } of clients) {
      sub.unsubscribe()
      socket.close()
    }
    await server.stop()
    await redis?.stop()
    return result
  }

  if (SCENARIO === 'presence') {
    const all = []
    for (const bus of BUSES) all.push(await runPresence(bus))
    console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator on the same cores.\n`)
    console.log('| bus | client | users / projects | calls/s | presence latency p50 | p95 | p99 | max | messages per client per s | (socket, change) pairs due | lost | errors |')
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for (const r of all) console.log(`| ${r.bus} | ${r.client} | ${r.users} / ${r.projects} | ${r.callsPerSec} | ${r.p50} ms | ${r.p95} ms | ${r.p99} ms | ${r.max} ms | ${r.messagesPerClientPerSec} | ${r.expected} | ${r.lost} | ${r.errors} |`)
    if (args.json) writeFileSync(args.json, JSON.stringify(all, null, 2))
    process.exit(0)
  }

  const all = await runFanout()
  console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator on the same cores.`)
  console.log(`Writer: ${RATE} writes/s for ${DURATION / 1000} s, ${PAYLOAD}-byte description each; every event must reach every socket (loss per socket and event).\n`)
  console.log('| target | client | sockets | connect+subscribe (cookie) | connect+subscribe (ticket each; minting them first) | p50 | p99 | max | deliveries/s (offered) | lost | dup | errors | KiB/socket after GC: RSS / heap |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of all) {
    console.log(`| ${r.target} | ${r.client} | ${r.n} | ${r.connectCookieMs} ms | ${r.connectTicketMs === undefined ? '–' : `${r.connectTicketMs} ms (${r.mintTicketsMs} ms)`} | ${r.p50} ms | ${r.p99} ms | ${r.max} ms | ${r.deliveriesPerSec} (${r.offeredPerSec}) | ${r.lost} | ${r.duplicates} | ${r.errors} | ${r.kibPerSocketRss} / ${r.kibPerSocketHeap} |`)
  }
  // Every row of ours as a ratio to each peer of the same N (below 1 is better, except deliveries/s).
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–')
  console.log('\nOurs ÷ peer, same N and run (lower is better; deliveries/s: higher is better):\n')
  console.log('| ours | ÷ peer | sockets | p50 | p99 | deliveries/s | connect (cookie) | connect (ticket) | KiB/socket RSS | heap |')
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const ours of all.filter(r => r.target.startsWith('ours'))) {
    for (const peer of all.filter(r => !r.target.startsWith('ours') && r.n === ours.n)) {
      console.log(`| ${ours.target} | ${peer.target} | ${ours.n} | ${ratio(ours.p50, peer.p50)} | ${ratio(ours.p99, peer.p99)} | ${ratio(ours.deliveriesPerSec, peer.deliveriesPerSec)} | ${ratio(ours.connectCookieMs, peer.connectCookieMs)} | ${ratio(ours.connectTicketMs, peer.connectCookieMs)} | ${ratio(ours.kibPerSocketRss, peer.kibPerSocketRss)} | ${ratio(ours.kibPerSocketHeap, peer.kibPerSocketHeap)} |`)
    }
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(all, null, 2))
  process.exit(0)
}
