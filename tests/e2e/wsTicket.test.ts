// WebSocket tickets against the production build: minted over HTTP with a session cookie, used on a
// socket that carries no cookie at all; across two instances sharing a database and Redis (no AUTH_SECRET) a ticket
// minted on one opens a socket on the other, and a user's socket calls share one budget.
import { createTRPCClient, createWSClient, TRPCClientError, wsLink, type TRPCClient } from '@trpc/client'
import superjson from 'superjson'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { startPostgres, type PostgresServer } from '../setup/postgres'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { startAppServer, type AppServer } from './appServer'
import { collectProjectEvents, httpClient, webSocketWithHeaders } from './helpers'

const sockets: ReturnType<typeof createWSClient>[] = []

/** A socket client with no cookie, authenticated (or not) by `connectionParams.token` only. */
function wsClient(baseUrl: string, token?: string): TRPCClient<AppRouter> {
  const socket = createWSClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`,
    WebSocket: webSocketWithHeaders({}),
    connectionParams: token === undefined ? undefined : { token },
    retryDelayMs: () => 200,
  })
  sockets.push(socket)
  return createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
}

async function signUp(baseUrl: string) {
  const http = httpClient(baseUrl)
  const name = `wt${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  await http.client.auth.register.mutate({ email: `${name}@example.test`, username: name, name: `Ticket ${name}`, password: 'correct horse battery' })
  expect(http.cookie()).toMatch(/^tt_session=/)
  return http
}

const isCode = (code: string) => (e: unknown) => e instanceof TRPCClientError && e.data?.code === code

afterAll(async () => {
  await Promise.all(sockets.map(s => s.close()))
})

describe('WebSocket tickets (auth.wsTicket)', () => {
  const baseUrl = inject('baseUrl')

  it('a ticket minted over HTTP signs in a socket that has no cookie; it streams the user\'s project', async () => {
    const owner = await signUp(baseUrl)
    const project = await owner.client.project.create.mutate({ name: 'Ticket socket' })
    const { ticket, expiresAt } = await owner.client.auth.wsTicket.mutate()
    expect(expiresAt).toBeInstanceOf(Date)
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(50_000)
    expect(expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60_000)

    const client = wsClient(baseUrl, ticket)
    const me = await owner.client.auth.me.query()
    expect((await client.auth.me.query())?.id).toBe(me!.id)
    const stream = collectProjectEvents(client, project.id)
    await stream.started
    expect(stream.error()).toBeNull()
    await owner.client.project.update.mutate({ id: project.id, name: 'Ticket socket!' })
    expect(await stream.next()).toMatchObject({ type: 'project.updated', projectId: project.id })
    stream.unsubscribe()
  })

  it('a bad ticket leaves the socket unauthenticated: protected calls answer UNAUTHORIZED, the server goes on', async () => {
    const owner = await signUp(baseUrl)
    const project = await owner.client.project.create.mutate({ name: 'Bad tickets' })
    const { ticket } = await owner.client.auth.wsTicket.mutate()
    const [header, payload, signature] = ticket.split('.')
    const forged = `${header}.${payload}.${signature!.slice(0, -4)}AAAA`
    for (const bad of ['garbage', forged]) {
      const client = wsClient(baseUrl, bad)
      expect(await client.auth.me.query()).toBeNull()
      await expect(collectProjectEvents(client, project.id).next()).rejects.toSatisfy(isCode('UNAUTHORIZED'))
    }
    // The genuine ticket still works afterwards.
    expect(await wsClient(baseUrl, ticket).auth.me.query()).not.toBeNull()
  })

  it('is refused as an HTTP Bearer token', async () => {
    const owner = await signUp(baseUrl)
    const { ticket } = await owner.client.auth.wsTicket.mutate()
    const res = await fetch(`${baseUrl}/api/trpc/project.list`, { headers: { authorization: `Bearer ${ticket}` } })
    expect(res.status).toBe(401)
  })

  it('needs a signed-in caller', async () => {
    const anonymous = httpClient(baseUrl)
    await expect(anonymous.client.auth.wsTicket.mutate()).rejects.toSatisfy(isCode('UNAUTHORIZED'))
  })
})

describe.runIf(redisAvailable())('WebSocket tickets and socket rate limit across two instances sharing Redis', () => {
  let postgres: PostgresServer | undefined
  let redis: RedisServer | undefined
  const servers: AppServer[] = []
  let a: AppServer
  let b: AppServer

  beforeAll(async () => {
    ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
    // No AUTH_SECRET: the instances agree on the generated one kept in their shared database.
    const env = { DATABASE_URL: postgres.url('postgres'), REDIS_URL: redis.url }
    a = await startAppServer(env) // first: migrates the empty database
    servers.push(a)
    b = await startAppServer(env)
    servers.push(b)
  })
  afterAll(async () => {
    await Promise.all(servers.map(s => s.stop()))
    await redis?.stop()
    await postgres?.stop()
  })

  it('a ticket minted on instance A opens a socket on instance B', async () => {
    const owner = await signUp(a.baseUrl)
    const project = await owner.client.project.create.mutate({ name: 'Two instances' })
    const { ticket } = await owner.client.auth.wsTicket.mutate()
    const onB = wsClient(b.baseUrl, ticket)
    const stream = collectProjectEvents(onB, project.id)
    await stream.started
    expect(stream.error()).toBeNull()
    await owner.client.project.update.mutate({ id: project.id, name: 'Two instances!' })
    expect(await stream.next()).toMatchObject({ type: 'project.updated', projectId: project.id })
    stream.unsubscribe()
  })

  it('a user\'s sockets on both instances share one budget of 30 calls', async () => {
    const user = await signUp(a.baseUrl)
    const onA = wsClient(a.baseUrl, (await user.client.auth.wsTicket.mutate()).ticket)
    const onB = wsClient(b.baseUrl, (await user.client.auth.wsTicket.mutate()).ticket)
    // One call each first, so both sockets are open and authenticated before the burst.
    await Promise.all([onA.auth.me.query(), onB.auth.me.query()])
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => (i % 2 ? onA : onB).auth.me.query()))
    const ok = results.filter(r => r.status === 'fulfilled').length
    const limited = results.filter(r => r.status === 'rejected' && isCode('TOO_MANY_REQUESTS')(r.reason))
    // Each instance alone would allow 30 (28 after the first calls); shared, the two get 28 between
    // them plus what refills (10/s) while the burst runs.
    expect(ok + limited.length).toBe(60)
    expect(ok).toBeLessThan(45)
    expect(limited.length).toBeGreaterThan(15)
    // Both instances refuse: the budget is one.
    const refusedBy = new Set(results.map((r, i) => (r.status === 'rejected' ? (i % 2 ? 'A' : 'B') : null)).filter(Boolean))
    expect(refusedBy).toEqual(new Set(['A', 'B']))
  })
})
