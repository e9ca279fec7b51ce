// `npm run bench:push`: the Web Push channel's send rate and its delay from a write to the push.
// A push service sink runs in a child process (a local HTTP server answering 201, so its CPU is not
// counted as ours). The app's code runs in this process on a fresh database (PGlite in memory):
// 1. throughput: --messages messages for --subscriptions subscriptions (each with its own P-256
//    key pair) queued at once into a PushSender (concurrency --concurrency), timed until the queue
//    is empty. Each message is encrypted (aes128gcm) and VAPID-signed by web-push, POSTed, and its
//    success recorded on the subscription row.
// 2. delay: --mentions comments mentioning Ben (who has one subscription), one at a time; for each,
//    the time from calling comment.create to the sink receiving the push (tRPC call, commit,
//    notifier, in-app channel, push channel, queue, encryption, HTTP). p50 / p99 / max.
// Options: --messages=5000 --subscriptions=500 --concurrency=16 --mentions=200
import { fork } from 'node:child_process'
import { createECDH, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createJiti } from 'jiti'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const MESSAGES = Number(args.messages ?? 5000)
const SUBSCRIPTIONS = Number(args.subscriptions ?? 500)
const CONCURRENCY = Number(args.concurrency ?? 16)
const MENTIONS = Number(args.mentions ?? 200)

process.env.LOG_LEVEL ??= 'warn'
const jiti = createJiti(import.meta.url)
const { openPglite } = await jiti.import('../server/utils/db.ts')
const { readMigrationsFromDir } = await jiti.import('../server/utils/migrate.ts')
const { PushSender } = await jiti.import('../server/push/sender.ts')
const { createServices, installServices } = await jiti.import('../server/container.ts')
const { createPushChannel } = await jiti.import('../server/push/channel.ts')
const { vapidKeys } = await jiti.import('../server/push/vapid.ts')
const { registerChannel } = await jiti.import('../server/notifications/channels.ts')
const { projectWithTeam, taskInput } = await jiti.import('../tests/factories/index.ts')

const tmp = mkdtempSync(join(tmpdir(), 'tt-bench-push-'))
const sinkFile = join(tmp, 'sink.mjs')
writeFileSync(sinkFile, `
import { createServer } from 'node:http'
let count = 0
const server = createServer((req, res) => {
  req.on('data', () => {})
  req.on('end', () => {
    count++
    res.writeHead(201).end()
    if (req.url.startsWith('/push/watch-')) process.send({ arrived: req.url, at: performance.timeOrigin + performance.now() })
  })
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
process.on('message', m => { if (m === 'count') process.send({ count }); if (m === 'stop') server.close(() => process.exit(0)) })
`)
const sink = fork(sinkFile, { stdio: 'inherit' })
const origin = `http://127.0.0.1:${await new Promise(resolve => sink.once('message', m => resolve(m.port)))}`
// This process's services accept the sink as a push service.
const services = createServices({}, { pushEndpointOrigins: [origin] })
installServices(services)

const db = await openPglite({ dir: 'memory://' })
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
try {
  await db.migrate(await readMigrationsFromDir(join(process.cwd(), 'prisma', 'migrations')))
  const keys = () => vapidKeys.get(db.prisma)
  await keys()

  // --- 1. throughput ---------------------------------------------------------------------------
  const t = await projectWithTeam(db)
  const targets = []
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const ecdh = createECDH('prime256v1')
    ecdh.generateKeys()
    const endpoint = `${origin}/push/load-${i}`
    const p256dh = ecdh.getPublicKey().toString('base64url')
    const auth = randomBytes(16).toString('base64url')
    const { id } = await t.owner.caller.push.subscribe({ endpoint, keys: { p256dh, auth } })
    targets.push({ subscriptionId: id, endpoint, p256dh, auth })
  }
  const sender = new PushSender({ db: db.prisma, keys, concurrency: CONCURRENCY })
  const payload = { title: 'WEB-12 · Web', body: 'Ana Lima mentioned you in a comment on \'Fix login\'', tag: 'task-abcdefghijklmnopqrstuvwxy', url: '/projects/p/?task=t' }
  const jobs = Array.from({ length: MESSAGES }, (_, i) => ({ ...targets[i % targets.length], payload }))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  sender.enqueue(jobs)
  await sender.idle()
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const received = await new Promise((resolve) => {
    sink.once('message', m => resolve(m.count))
    sink.send('count')
  })
  await sender.stop()

  // --- 2. delay from comment.create to the push ------------------------------------------------
  const live = new PushSender({ db: db.prisma, keys, concurrency: CONCURRENCY })
  services.pushSender = live
  registerChannel(createPushChannel({ sender: () => live }))
  const ben = await t.addMember('MEMBER')
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  await ben.caller.push.subscribe({ endpoint: `${origin}/push/watch-ben`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } })
  const task = await t.owner.caller.task.create(taskInput(t.project.id, { title: 'Fix login' }))
  const delays = []
  for (let i = 0; i < MENTIONS; i++) {
    const arrived = new Promise(resolve => sink.once('message', m => resolve(m.at)))
    const start = performance.timeOrigin + performance.now()
    await t.owner.caller.comment.create({ taskId: task.id, body: `@${ben.user.username} ping ${i}` })
    delays.push((await arrived) - start)
  }
  await live.stop()
  delays.sort((a, b) => a - b)

  console.log(`bench:push — ${new Date().toISOString()} — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, PGlite in memory`)
  console.log(`throughput: ${MESSAGES} messages to ${SUBSCRIPTIONS} subscriptions, concurrency ${CONCURRENCY}: ${seconds.toFixed(2)} s, ${Math.round(MESSAGES / seconds)} pushes/s (sink received ${received}); CPU ${((cpu.user + cpu.system) / 1000 / MESSAGES).toFixed(2)} ms per push`)
  console.log(`delay comment.create → push received, ${MENTIONS} mentions one at a time: p50 ${quantile(delays, 0.5).toFixed(1)} ms, p99 ${quantile(delays, 0.99).toFixed(1)} ms, max ${delays.at(-1).toFixed(1)} ms`)
}
finally {
  sink.send('stop')
  await db.close()
  rmSync(tmp, { recursive: true, force: true })
}
