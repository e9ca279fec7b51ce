import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWsContext } from '../../server/realtime/wsContext'
import { SOCKET_CALL_LIMIT } from '../../server/trpc/init'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { callLimiter, limiterRedisConnection, redisStore } from '../../server/utils/rateLimit'
import { callerFor, failure, signUp } from '../factories'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

/** A caller with the context a socket gets (session cookie on the upgrade request). */
async function socketCaller(db: Database, cookie: string | undefined, ip = '10.9.9.9') {
  const ctx = await createWsContext({ db: db.prisma, env: { secureCookies: false }, headers: cookie ? { cookie } : {}, ip, connectionParams: null })
  expect(ctx.socket).toBe(true)
  return createCaller(ctx)
}

async function burst(call: () => Promise<unknown>, n: number) {
  const results = await Promise.all(Array.from({ length: n }, () => failure(call()).catch(() => null)))
  // failure() throws (→ null) when the call succeeded
  return { ok: results.filter(r => r === null).length, limited: results.filter(r => r?.code === 'TOO_MANY_REQUESTS') }
}

const cookieOf = (u: Awaited<ReturnType<typeof signUp>>) => `tt_session=${u.jar.values.get('tt_session')}`

describe.runIf(databaseAvailable)('rate limit of calls over a WebSocket', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.close()
  })

  it('answers TOO_MANY_REQUESTS past a burst of 30 per user, other users unaffected', async () => {
    const alice = await signUp(db)
    const bob = await signUp(db)
    const aliceSocket = await socketCaller(db, cookieOf(alice))
    const { ok, limited } = await burst(() => aliceSocket.auth.me(), 45)
    expect(ok).toBeGreaterThanOrEqual(30)
    expect(ok).toBeLessThan(40)
    expect(limited.length).toBe(45 - ok)
    expect(limited[0]!.message).toMatch(/Too many requests/)
    // A second socket of the same user shares the budget; another user has their own.
    expect((await failure((await socketCaller(db, cookieOf(alice), '10.9.9.10')).auth.me())).code).toBe('TOO_MANY_REQUESTS')
    expect(await (await socketCaller(db, cookieOf(bob))).auth.me()).toMatchObject({ id: bob.user.id })
  })

  it('keys unauthenticated sockets by IP, and never limits HTTP callers here', async () => {
    const anon = await socketCaller(db, undefined, '10.7.7.7')
    const { limited } = await burst(() => anon.auth.me(), 45)
    expect(limited.length).toBeGreaterThan(0)
    expect(await (await socketCaller(db, undefined, '10.7.7.8')).auth.me()).toBeNull()
    const http = await callerFor(db, { ip: '10.7.7.7' })
    const { ok } = await burst(() => http.auth.me(), 45)
    expect(ok).toBe(45)
  })
})

describe.runIf(databaseAvailable && redisAvailable())('rate limit of socket calls shared through Redis', () => {
  let db: Database
  let redis: RedisServer
  const connections: Redis[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    redis = await startRedis()
  })
  afterAll(async () => {
    for (const c of connections) c.disconnect()
    await redis?.stop()
    await db?.close()
  })

  /**
   * The limiter an instance's services hold, on its own connection — with a sustained rate of 1/s
   * instead of 10/s, so that a slow test machine cannot refill the budget between the two bursts.
   */
  async function instanceLimiter() {
    const conn = limiterRedisConnection(redis.url)
    connections.push(conn)
    if (conn.status !== 'ready') await new Promise<void>(resolve => conn.once('ready', () => resolve()))
    return callLimiter(redisStore(conn, 'tt:test:'), 'ws', { capacity: SOCKET_CALL_LIMIT.capacity, perSecond: 1 })
  }

  it('a user\'s sockets on two instances share one budget of 30', async () => {
    const alice = await signUp(db)
    // Each socket's context keeps the services of the instance it was opened on.
    const a = installTestServices({ limits: { socket: await instanceLimiter() } })
    const onA = await socketCaller(db, cookieOf(alice))
    a.restore()
    expect((await burst(() => onA.auth.me(), 20)).ok).toBe(20)

    const b = installTestServices({ limits: { socket: await instanceLimiter() } })
    const onB = await socketCaller(db, cookieOf(alice), '10.9.9.11')
    b.restore()
    const { ok, limited } = await burst(() => onB.auth.me(), 20)
    // 10 left of the burst (11 if B's calls fall into the next second)
    expect(ok).toBeGreaterThanOrEqual(10)
    expect(ok).toBeLessThanOrEqual(11)
    expect(limited).toHaveLength(20 - ok)
    expect(limited[0]!.message).toBe('Too many requests on this connection, retry in 1 s')
    expect(limited[0]!.data.httpStatus).toBe(429)
  })
})
