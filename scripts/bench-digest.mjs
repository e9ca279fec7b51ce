// `npm run bench:digest`: generating and sending digests for many users.
// Seeds a fresh database (PGlite in a temp dir, or a scratch PostgreSQL database when DATABASE_URL
// is set: it must be a database you can throw away) with --users users in --projects projects, each
// with tasks assigned and due, project activity of the last day and some unread mentions; then runs
// one digest run (runDigests, batches of --batch users) and drains the outbox through SMTP to a
// local smtp-server sink running in a child process. Prints users/s for both steps and peak RSS.
// Options: --users=10000 --projects=50 --batch=500 --connections=4 --db=pglite|postgres
// (--db=postgres starts a throwaway PostgreSQL server from the machine's binaries, like the tests)
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createJiti } from 'jiti'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const USERS = Number(args.users ?? 10_000)
const PROJECTS = Number(args.projects ?? 50)
const BATCH = Number(args.batch ?? 500)
const CONNECTIONS = Number(args.connections ?? 4)
const DB = args.db ?? (process.env.DATABASE_URL ? 'url' : 'pglite')

const jiti = createJiti(import.meta.url)
const { openPglite, openPostgres } = await jiti.import('../server/utils/db.ts')
const { readMigrationsFromDir } = await jiti.import('../server/utils/migrate.ts')
const { runDigests } = await jiti.import('../server/email/digest.ts')
const { drainOutbox, outboxLimits } = await jiti.import('../server/email/outbox.ts')
const { smtpTransport } = await jiti.import('../server/email/transport.ts')

// The SMTP sink: a child process, so its CPU and memory are not counted as ours.
const tmp = mkdtempSync(join(tmpdir(), 'tt-bench-digest-'))
const sinkFile = join(tmp, 'sink.mjs')
writeFileSync(sinkFile, `
import { SMTPServer } from ${JSON.stringify(import.meta.resolve('smtp-server'))}
let count = 0
const server = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
  onData(stream, _s, cb) { stream.on('data', () => {}); stream.on('end', () => { count++; cb() }) } })
server.listen(0, '127.0.0.1', () => process.send({ port: server.server.address().port }))
process.on('message', m => { if (m === 'count') process.send({ count }); if (m === 'stop') server.close(() => process.exit(0)) })
`)
const sink = fork(sinkFile, { stdio: 'inherit' })
const sinkPort = await new Promise(resolve => sink.once('message', m => resolve(m.port)))
const sinkCount = () => new Promise((resolve) => {
  sink.once('message', m => resolve(m.count))
  sink.send('count')
})

let peakRss = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 20)

let pgServer
if (DB === 'postgres') {
  const { startPostgres } = await jiti.import('../tests/setup/postgres.ts')
  pgServer = await startPostgres()
}
const db = DB === 'postgres' ? await openPostgres(pgServer.url('postgres'), { max: 5 }) : DB === 'url' ? await openPostgres(process.env.DATABASE_URL, { max: 5 }) : await openPglite({ dir: join(tmp, 'db') })
const kind = DB === 'pglite' ? 'PGlite (on disk)' : 'PostgreSQL'
try {
  await db.migrate(await readMigrationsFromDir(join(process.cwd(), 'prisma', 'migrations')))
  const prisma = db.prisma
  if (await prisma.user.count()) throw new Error('bench:digest needs an empty database')

  // --- seed --------------------------------------------------------------------------------
  const t0 = performance.now()
  const now = new Date()
  const day = d => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + d))
  const uid = i => `u${String(i).padStart(7, '0')}`
  const pid = p => `p${String(p).padStart(4, '0')}`
  const chunk = async (n, make, insert) => {
    for (let i = 0; i < n; i += 1000) await insert(Array.from({ length: Math.min(1000, n - i) }, (_, j) => make(i + j)))
  }
  await chunk(USERS, i => ({ id: uid(i), email: `${uid(i)}@bench.test`, username: uid(i), name: `User ${i}`, passwordHash: 'x', timezone: ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'][i % 4] }), data => prisma.user.createMany({ data }))
  // Every user's digest hour is 0 local: everyone is due in this run.
  await chunk(USERS, i => ({ userId: uid(i), digestHour: 0, lastSeq: 1 }), data => prisma.notificationSettings.createMany({ data }))
  await prisma.project.createMany({ data: Array.from({ length: PROJECTS }, (_, p) => ({ id: pid(p), name: `Project ${p}`, key: `P${p}`, taskCounter: 1000, eventSeq: 1000 })) })
  // Each user in two projects.
  await chunk(USERS * 2, k => ({ projectId: pid(k < USERS ? k % PROJECTS : (k * 7 + 3) % PROJECTS), userId: uid(k % USERS), role: 'MEMBER' }), data => prisma.projectMember.createMany({ data, skipDuplicates: true }))
  // Two tasks per user, due from 3 days ago to 5 days ahead.
  await chunk(USERS * 2, k => ({ id: `t${k}`, projectId: pid(k % USERS % PROJECTS), number: k + 1, title: `Task ${k}`, assigneeId: uid(k % USERS), dueDate: day((k % 9) - 3), position: 'a0', createdById: uid(0), updatedById: uid(0) }), data => prisma.task.createMany({ data }))
  // 200 events per project in the last day: creations and status moves.
  const statuses = ['TODO', 'IN_PROGRESS', 'IN_REVIEW', 'DONE']
  await chunk(PROJECTS * 200, (k) => {
    const p = k % PROJECTS
    const created = k % 4 === 0
    const from = statuses[k % 3]
    return { id: `e${k}`, projectId: pid(p), seq: Math.floor(k / PROJECTS) + 1, type: created ? 'task.created' : 'task.moved', actorId: uid(0), entityType: 'task', entityId: `t${(k * 31) % (USERS * 2)}`, data: created ? { task: { title: 'x' } } : { version: 2, changes: { status: { from, to: statuses[statuses.indexOf(from) + 1] } } }, createdAt: new Date(now.getTime() - (k % 1440) * 60_000) }
  }, data => prisma.projectEvent.createMany({ data }))
  // An unread mention for every fifth user.
  await chunk(Math.floor(USERS / 5), k => ({ id: `n${k}`, userId: uid(k * 5), seq: 1, type: 'mentioned', projectId: pid(k % PROJECTS), taskId: `t${k * 5}`, latestActorId: uid(1), actorIds: [uid(1)], data: { taskTitle: `Task ${k * 5}`, projectName: `Project ${k % PROJECTS}`, source: 'comment' } }), data => prisma.notification.createMany({ data }))
  const seeded = performance.now()
  const rssAfterSeed = process.memoryUsage().rss
  peakRss = rssAfterSeed

  // --- generate ------------------------------------------------------------------------------
  const genStart = performance.now()
  const result = await runDigests(prisma, { origin: 'http://localhost:3000', now, batchSize: BATCH })
  const genMs = performance.now() - genStart
  const peakGen = peakRss

  // --- send ----------------------------------------------------------------------------------
  outboxLimits.batchSize = 100
  const transport = smtpTransport(`smtp://127.0.0.1:${sinkPort}`, { maxConnections: CONNECTIONS })
  const sendStart = performance.now()
  const sent = await drainOutbox(prisma, transport, 'TaskTracker Pro <no-reply@localhost>')
  const sendMs = performance.now() - sendStart
  transport.close()
  const received = await sinkCount()
  clearInterval(sampler)

  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(JSON.stringify({ users: USERS, projects: PROJECTS, batch: BATCH, database: kind, result, sent, received }, null, 0))
  console.log(`seed ${(seeded - t0).toFixed(0)} ms; RSS after seeding ${(rssAfterSeed / 2 ** 20).toFixed(0)} MiB`)
  console.log(`generate: ${result.queued} digests for ${USERS} users in ${(genMs / 1000).toFixed(1)} s = ${(USERS / (genMs / 1000)).toFixed(0)} users/s; peak RSS ${(peakGen / 2 ** 20).toFixed(0)} MiB`)
  console.log(`send: ${sent.sent} emails over SMTP (${CONNECTIONS} connections) in ${(sendMs / 1000).toFixed(1)} s = ${(sent.sent / (sendMs / 1000)).toFixed(0)} emails/s`)
  console.log(`total: ${(USERS / ((genMs + sendMs) / 1000)).toFixed(0)} users/s generated and sent; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`)
  console.log(`machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`)
  if (received !== sent.sent) throw new Error(`the SMTP sink received ${received} of ${sent.sent}`)
}
finally {
  clearInterval(sampler)
  await db.close()
  await pgServer?.stop()
  sink.send('stop')
  rmSync(tmp, { recursive: true, force: true })
}
