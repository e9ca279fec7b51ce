// `npm run start:cluster`: two workers of the production build on one port (node:cluster), sharing
// PostgreSQL and Redis. Sockets are spread over both workers; an event written through either
// reaches every socket, and the cluster refuses to start several workers without the shared services.
import { spawn } from 'node:child_process'
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import { Redis } from 'ioredis'
import superjson from 'superjson'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectChannel } from '../../server/realtime/redisBus'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { startPostgres, type PostgresServer } from '../setup/postgres'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { startAppServer, type AppServer } from './appServer'
import { collectProjectEvents, httpClient, webSocketWithHeaders } from './helpers'

describe.runIf(redisAvailable())('start:cluster (two workers on one port)', () => {
  let postgres: PostgresServer | undefined
  let redis: RedisServer | undefined
  let admin: Redis | undefined
  let cluster: AppServer | undefined
  const sockets: ReturnType<typeof createWSClient>[] = []

  beforeAll(async () => {
    ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
    admin = new Redis(redis.url)
    cluster = await startAppServer({ DATABASE_URL: postgres.url('postgres'), REDIS_URL: redis.url, WEB_CONCURRENCY: '2' }, { entry: 'scripts/start-cluster.mjs' })
  })
  afterAll(async () => {
    await Promise.all(sockets.map(s => s.close()))
    await cluster?.stop()
    admin?.disconnect()
    await redis?.stop()
    await postgres?.stop()
  })

  it('spreads sockets over both workers, and every socket gets every event', async () => {
    // The second worker starts once the first listens (it migrated the database).
    await expect.poll(() => cluster!.output().match(/worker \d+ listening/g)?.length ?? 0, { timeout: 90_000, interval: 250 }).toBe(2)
    const owner = httpClient(cluster!.baseUrl)
    const name = `cl${Date.now().toString(36)}`
    await owner.client.auth.register.mutate({ email: `${name}@example.test`, username: name, name: 'Cluster owner', password: 'correct horse battery' })
    const project = await owner.client.project.create.mutate({ name: 'Cluster' })
    const task = await owner.client.task.create.mutate({ projectId: project.id, title: 'Spread' })

    const streams = []
    for (let i = 0; i < 4; i++) {
      const socket = createWSClient({ url: `${cluster!.baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`, WebSocket: webSocketWithHeaders({ cookie: owner.cookie() }) })
      sockets.push(socket)
      const stream = collectProjectEvents(createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] }), project.id)
      await stream.started
      streams.push(stream)
    }
    // Each worker with a socket of the project listens to the project's Redis channel once.
    await expect.poll(async () => Number(((await admin!.pubsub('NUMSUB', projectChannel(project.id))) as [string, number | string])[1]), { timeout: 10_000 }).toBe(2)

    let version = task.version
    for (let i = 0; i < 3; i++) version = (await owner.client.task.update.mutate({ id: task.id, baseVersion: version, patch: { title: `spread ${i}` } })).version
    for (const stream of streams) {
      const seqs = [(await stream.next()).seq, (await stream.next()).seq, (await stream.next()).seq]
      expect(seqs).toEqual([seqs[0]!, seqs[0]! + 1, seqs[0]! + 2])
      expect(stream.events.at(-1)).toMatchObject({ type: 'task.updated', data: { changes: { title: { to: 'spread 2' } } } })
      stream.unsubscribe()
    }
  })

  it('refuses several workers without DATABASE_URL and REDIS_URL', async () => {
    const { DATABASE_URL: _db, REDIS_URL: _redis, ...env } = process.env
    const child = spawn(process.execPath, ['scripts/start-cluster.mjs'], { env: { ...env, WEB_CONCURRENCY: '2' }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(stderr).toContain('needs DATABASE_URL (PostgreSQL) and REDIS_URL')
  })
})
