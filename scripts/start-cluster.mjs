// `npm run start:cluster`: one instance of the production build per core on one host, sharing the
// port through node:cluster (the primary hands each new connection, WebSockets included, to a
// worker in turn). The instances are independent processes: they must share PostgreSQL
// (DATABASE_URL) and Redis (REDIS_URL), exactly as instances on several hosts do
// (docs/operations.md, "Several instances on one host").
// WEB_CONCURRENCY = number of workers (default: the machine's cores). A worker that dies is
// replaced; SIGTERM / SIGINT are passed to every worker, and the primary exits when they have.
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../.output/server/index.mjs', import.meta.url))

if (cluster.isPrimary) {
  const workers = Number(process.env.WEB_CONCURRENCY || availableParallelism())
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(`WEB_CONCURRENCY must be a whole number of workers, not ${process.env.WEB_CONCURRENCY}`)
    process.exit(1)
  }
  if (workers > 1 && (!process.env.DATABASE_URL || !process.env.REDIS_URL)) {
    // The embedded database belongs to one process, and without Redis an event reaches only the
    // sockets of the instance that wrote it.
    console.error('start:cluster with more than one worker needs DATABASE_URL (PostgreSQL) and REDIS_URL; set WEB_CONCURRENCY=1 to run one.')
    process.exit(1)
  }
  cluster.setupPrimary({ exec: entry })
  let stopping = false
  const start = () => cluster.fork()
  // The first worker migrates the database; the others start once it listens (they would wait on
  // the migration lock anyway).
  const first = start()
  first.once('listening', () => {
    for (let i = 1; i < workers; i++) start()
  })
  cluster.on('listening', (worker, address) => console.log(`worker ${worker.process.pid} listening on port ${address.port}`))
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`)
    setTimeout(start, 1_000)
  })
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      stopping = true
      const alive = Object.values(cluster.workers ?? {})
      if (alive.length === 0) process.exit(0)
      for (const worker of alive) worker?.process.kill(signal)
    })
  }
}
