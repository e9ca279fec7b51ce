import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSignInLimits, type SignInLimits } from '../../server/services/signInLimits'
import type { Database } from '../../server/utils/db'
import { limiterRedisConnection, redisStore } from '../../server/utils/rateLimit'
import { callerFor, cookieJar, failure, signUp, TEST_PASSWORD, uniqueName } from '../factories'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable && redisAvailable())('sign-in limits shared through Redis', () => {
  let db: Database
  let redis: RedisServer
  const connections: Redis[] = []
  let restore: (() => void) | undefined
  let instances: { a: SignInLimits, b: SignInLimits }

  /** The limits an instance's plugin installs, each on its own Redis connection. */
  async function instanceLimits(prefix: string) {
    const conn = limiterRedisConnection(redis.url)
    connections.push(conn)
    if (conn.status !== 'ready') await new Promise<void>(resolve => conn.once('ready', () => resolve()))
    return createSignInLimits(redisStore(conn, prefix))
  }

  /** Runs `call` as instance `on` would: with services holding that instance's limits. */
  async function on<T>(instance: SignInLimits, call: () => Promise<T>): Promise<T> {
    const services = installTestServices({ limits: { signIn: instance } })
    try {
      return await call()
    }
    finally {
      services.restore()
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase()
    redis = await startRedis()
    const prefix = `tt:test:${process.pid}:`
    instances = { a: await instanceLimits(prefix), b: await instanceLimits(prefix) }
    restore = installTestServices({ limits: { signIn: instances.a } }).restore
  })
  afterAll(async () => {
    restore?.()
    for (const c of connections) c.disconnect()
    await redis?.stop()
    await db?.close()
  })

  const guess = async (login: string, ip: string, jar = cookieJar()) =>
    failure((await callerFor(db, { ip, jar })).auth.login({ login, password: 'wrong-password' }))

  it('two instances share one budget per account: 3 guesses on one and 2 on the other lock it on both', async () => {
    const victim = await signUp(db)
    for (let i = 0; i < 3; i++) expect((await on(instances.a, () => guess(victim.user.username, `198.19.0.${i}`))).code).toBe('UNAUTHORIZED')
    for (let i = 3; i < 5; i++) expect((await on(instances.b, () => guess(victim.user.username, `198.19.0.${i}`))).code).toBe('UNAUTHORIZED')
    for (const instance of [instances.a, instances.b]) {
      const refused = await on(instance, async () => failure((await callerFor(db, { ip: '198.19.0.99' })).auth.login({ login: victim.user.username, password: TEST_PASSWORD })))
      expect(refused.code).toBe('TOO_MANY_REQUESTS')
      expect(refused.data.details!.retryAfterSeconds).toBeGreaterThan(14 * 60)
    }
  })

  it('two instances share one budget per address', async () => {
    const ip = '198.19.1.1'
    for (let i = 0; i < 20; i++) {
      const instance = i % 2 ? instances.a : instances.b
      expect((await on(instance, () => guess(uniqueName('nobody'), ip))).code).toBe('UNAUTHORIZED')
    }
    expect((await on(instances.a, () => guess(uniqueName('nobody'), ip))).code).toBe('TOO_MANY_REQUESTS')
  })

  it('the owner\'s trusted browser signs in on either instance while the account is locked on both', async () => {
    const owner = await signUp(db)
    const browser = cookieJar()
    await on(instances.a, async () => (await callerFor(db, { jar: browser })).auth.login({ login: owner.user.username, password: TEST_PASSWORD }))
    for (let i = 0; i < 5; i++) await on(i % 2 ? instances.a : instances.b, () => guess(owner.user.username, `198.19.2.${i}`))
    expect((await on(instances.a, () => guess(owner.user.username, '198.19.2.50'))).code).toBe('TOO_MANY_REQUESTS')
    await expect(on(instances.b, async () => (await callerFor(db, { jar: browser })).auth.login({ login: owner.user.username, password: TEST_PASSWORD })))
      .resolves.toMatchObject({ id: owner.user.id })
  })

  it('sign-ups from one address are counted across instances', async () => {
    const ip = '198.19.3.1'
    const register = (instance: SignInLimits) => on(instance, async () => {
      const username = uniqueName('reg')
      return (await callerFor(db, { ip })).auth.register({ email: `${username}@example.test`, username, name: 'Reg', password: TEST_PASSWORD })
    })
    for (let i = 0; i < 5; i++) await expect(register(i % 2 ? instances.a : instances.b)).resolves.toMatchObject({ name: 'Reg' })
    expect((await failure(register(instances.a))).code).toBe('TOO_MANY_REQUESTS')
    expect((await failure(register(instances.b))).code).toBe('TOO_MANY_REQUESTS')
  })
})
