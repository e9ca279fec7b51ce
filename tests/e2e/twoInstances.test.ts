// Two production servers sharing one PostgreSQL and one Redis: a write on instance A reaches a
// WebSocket subscriber on instance B, in order and without gaps, even when B's Redis link drops.
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import { Redis } from 'ioredis'
import superjson from 'superjson'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { projectChannel } from '../../server/realtime/redisBus'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { startPostgres, type PostgresServer } from '../setup/postgres'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { startAppServer, type AppServer } from './appServer'
import { collectProjectEvents, httpClient, webSocketWithHeaders } from './helpers'

const WAIT_MS = 15_000

describe.runIf(redisAvailable())('two instances sharing PostgreSQL and Redis', () => {
  let postgres: PostgresServer | undefined
  let redis: RedisServer | undefined
  let admin: Redis | undefined
  const servers: AppServer[] = []
  const sockets: ReturnType<typeof createWSClient>[] = []
  let a: AppServer
  let b: AppServer

  beforeAll(async () => {
    ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
    admin = new Redis(redis.url)
    const env = { DATABASE_URL: postgres.url('postgres'), REDIS_URL: redis.url }
    // One after the other: the first one migrates the empty database.
    a = await startAppServer(env)
    servers.push(a)
    b = await startAppServer(env)
    servers.push(b)
  })
  afterAll(async () => {
    await Promise.all(sockets.map(s => s.close()))
    await Promise.all(servers.map(s => s.stop()))
    admin?.disconnect()
    await redis?.stop()
    await postgres?.stop()
  })

  /** The same user signed in on both instances, a project with a task, and B's socket subscribed to it. */
  async function setUp() {
    const onA = httpClient(a.baseUrl)
    const name = `two${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
    const password = 'correct horse battery'
    await onA.client.auth.register.mutate({ email: `${name}@example.test`, username: name, name: `Two ${name}`, password })
    const onB = httpClient(b.baseUrl)
    await onB.client.auth.login.mutate({ login: name, password })
    expect(onB.cookie()).toMatch(/^tt_session=/)
    expect(onB.cookie()).not.toBe(onA.cookie())

    const project = await onA.client.project.create.mutate({ name: 'Two instances' })
    const task = await onA.client.task.create.mutate({ projectId: project.id, title: 'Shared' })
    // Both instances read the same database.
    const seen = await onB.client.project.byId.query({ id: project.id })
    expect(seen.eventSeq).toBeGreaterThan(0)

    const socket = createWSClient({ url: `${b.baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`, WebSocket: webSocketWithHeaders({ cookie: onB.cookie() }), retryDelayMs: () => 200 })
    sockets.push(socket)
    const stream = collectProjectEvents(createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] }), project.id)
    await stream.started
    return { onA, onB, project, task, stream, start: seen.eventSeq }
  }

  const subscribers = async (projectId: string) => Number(((await admin!.pubsub('NUMSUB', projectChannel(projectId))) as [string, number | string])[1])
  const untilSubscribed = (projectId: string) =>
    vi.waitFor(async () => expect(await subscribers(projectId), `subscribers of ${projectChannel(projectId)}`).toBeGreaterThanOrEqual(1), { timeout: WAIT_MS, interval: 20 })

  it('delivers a task update made over HTTP on instance A to a WebSocket subscriber on instance B', async () => {
    const { onA, task, stream, start } = await setUp()
    await onA.client.task.update.mutate({ id: task.id, baseVersion: task.version, patch: { title: 'Shared, updated on A' } })
    const event = await stream.next()
    expect(event).toMatchObject({ seq: start + 1, type: 'task.updated', entityId: task.id, data: { changes: { title: { from: 'Shared', to: 'Shared, updated on A' } } } })
    expect(event.createdAt).toBeInstanceOf(Date)
    stream.unsubscribe()
  })

  it('keeps every seq in order on B through a burst of writes on A while B\'s Redis link drops', async () => {
    const { onA, project, task, stream, start } = await setUp()
    await untilSubscribed(project.id)

    // Cut instance B's subscriber connection: what A publishes until it is back never reaches B by Redis.
    const clients = await admin!.client('LIST') as string
    const line = clients.split('\n').find(l => l.includes(` name=tt-bus-${b.pid}:sub `))
    expect(line, clients).toBeDefined()
    await admin!.client('KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]!)

    const burst = 20
    let version = task.version
    for (let i = 0; i < burst; i++) {
      const updated = await onA.client.task.update.mutate({ id: task.id, baseVersion: version, patch: { title: `burst ${i}` } })
      version = updated.version
    }
    // B resubscribes by itself; the next event it receives reveals any gap, which it reads from the log.
    await untilSubscribed(project.id)
    await onA.client.task.update.mutate({ id: task.id, baseVersion: version, patch: { title: 'after the burst' } })

    const seqs: number[] = []
    for (let i = 0; i <= burst; i++) seqs.push((await stream.next()).seq)
    expect(seqs).toEqual(Array.from({ length: burst + 1 }, (_, i) => start + 1 + i))
    const last = stream.events.at(-1)!
    expect(last).toMatchObject({ type: 'task.updated', data: { changes: { title: { to: 'after the burst' } } } })
    stream.unsubscribe()
  })
})
