import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callLimiter, Limiter, limiterRedisConnection, redisStore, watchLimiterConnection, type LimitSpec } from '../../server/utils/rateLimit'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'

let prefixes = 0
/** Each test its own key space, so tests do not share budgets. */
const freshPrefix = () => `test:${process.pid}:${++prefixes}:`

/** Resolves once the connection is ready (the limiter's connection has no offline queue). */
function ready(redis: Redis) {
  return redis.status === 'ready' ? Promise.resolve() : new Promise<void>(resolve => redis.once('ready', () => resolve()))
}

describe.runIf(redisAvailable())('limiters shared through Redis (rate-limiter-flexible)', () => {
  let redis: RedisServer
  /** Two connections, as two app instances would have. */
  let connA: Redis
  let connB: Redis
  let admin: Redis

  beforeAll(async () => {
    redis = await startRedis()
    connA = limiterRedisConnection(redis.url, 'test-limiter-a')
    connB = limiterRedisConnection(redis.url, 'test-limiter-b')
    admin = new Redis(redis.url)
    await Promise.all([ready(connA), ready(connB)])
  })
  afterAll(async () => {
    connA?.disconnect()
    connB?.disconnect()
    admin?.disconnect()
    await redis?.stop()
  })

  /** The same limiter on two instances: separate connections, separate insurance limiters, one prefix. */
  function pair(spec: LimitSpec) {
    const prefix = freshPrefix()
    return {
      prefix,
      a: Limiter.of(redisStore(connA, prefix), 'l', spec),
      b: Limiter.of(redisStore(connB, prefix), 'l', spec),
    }
  }

  it('two instances draw on one budget per key', async () => {
    const { a, b } = pair({ points: 5, durationSeconds: 60 })
    expect([await a.take('user:1'), await a.take('user:1'), await a.take('user:1')]).toEqual([0, 0, 0])
    expect([await b.take('user:1'), await b.take('user:1')]).toEqual([0, 0])
    expect(await a.take('user:1')).toBeGreaterThan(55)
    expect(await b.take('user:1')).toBeGreaterThan(55)
    // Another key has its own budget.
    expect(await b.take('user:2')).toBe(0)
  })

  it('holds under concurrent takes from both instances (atomic script)', async () => {
    const { a, b } = pair({ points: 30, durationSeconds: 60 })
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take('user:burst')))
    expect(results.filter(r => r === 0)).toHaveLength(30)
    expect(results.filter(r => r > 0)).toHaveLength(30)
  })

  it('a reset or a refund on one instance counts on the other', async () => {
    const { a, b } = pair({ points: 2, durationSeconds: 60 })
    await a.take('k')
    await a.take('k')
    expect(await b.take('k')).toBeGreaterThan(0)
    await a.reset('k')
    expect(await b.take('k')).toBe(0)
    await b.take('k')
    await a.refund('k')
    expect(await b.take('k')).toBe(0)
  })

  it('blocks a spent key for blockSeconds on every instance; the key expires with it', async () => {
    const { a, b, prefix } = pair({ points: 1, durationSeconds: 5, blockSeconds: 900 })
    expect(await a.take('ip')).toBe(0)
    expect(await b.take('ip')).toBe(900)
    expect(await a.take('ip')).toBeGreaterThan(890)
    const ttl = await admin.pttl(`${prefix}l:ip`)
    expect(ttl).toBeGreaterThan(890_000)
    expect(ttl).toBeLessThanOrEqual(900_000)
  })

  it('supports a cost per call', async () => {
    const { a, b } = pair({ points: 5, durationSeconds: 60 })
    expect(await a.take('c', 4)).toBe(0)
    expect(await b.take('c', 4)).toBeGreaterThan(0)
  })

  it('the WebSocket call limiter: a burst of `capacity` shared by two instances', async () => {
    const prefix = freshPrefix()
    // A rate no test machine can refill within the test: the shared budget is all there is.
    const rate = { capacity: 30, perSecond: 1 }
    const a = callLimiter(redisStore(connA, prefix), 'ws', rate)
    const b = callLimiter(redisStore(connB, prefix), 'ws', rate)
    const onA = await Promise.all(Array.from({ length: 20 }, () => a.take('user:1')))
    const onB = await Promise.all(Array.from({ length: 20 }, () => b.take('user:1')))
    expect(onA.every(r => r === 0)).toBe(true)
    // 30, or 31 when B's calls fall into the next second (one more sustained point).
    const allowed = onA.length + onB.filter(r => r === 0).length
    expect(allowed).toBeGreaterThanOrEqual(30)
    expect(allowed).toBeLessThanOrEqual(31)
    expect(onB.filter(r => r > 0).every(r => r === 1)).toBe(true)
  })

  it('falls back to per-instance counting while Redis is down, reporting the outage once', async () => {
    const own = await startRedis()
    const conn = limiterRedisConnection(own.url, 'test-limiter-down')
    await ready(conn)
    const events: string[] = []
    const unwatch = watchLimiterConnection(conn, { onDown: () => events.push('down'), onUp: () => events.push('up') })
    const limiter = Limiter.of(redisStore(conn, freshPrefix()), 'l', { points: 2, durationSeconds: 60 })
    try {
      expect([await limiter.take('u'), await limiter.take('u')]).toEqual([0, 0])
      expect(await limiter.take('u')).toBeGreaterThan(0)
      const closed = new Promise<void>(resolve => conn.once('close', () => resolve()))
      await own.stop()
      await closed
      const started = Date.now()
      // The in-memory insurance limiter takes over with the same spec: limited, not wide open.
      expect([await limiter.take('u'), await limiter.take('u')]).toEqual([0, 0])
      expect(await limiter.take('u')).toBeGreaterThan(0)
      expect(await limiter.take('other')).toBe(0)
      // No offline queue and no command sent while disconnected: a down Redis costs a call no waiting.
      expect(Date.now() - started).toBeLessThan(1_000)
      expect(events).toEqual(['down'])
    }
    finally {
      unwatch()
      conn.disconnect()
      await own.stop()
    }
  })

  it('counts in memory against a Redis that never answered, and says so', async () => {
    const { freePort } = await import('../setup/postgres')
    const conn = limiterRedisConnection(`redis://127.0.0.1:${await freePort()}`, 'test-limiter-nowhere')
    const down = new Promise<void>(resolve => watchLimiterConnection(conn, { onDown: resolve, onUp: () => {} }, 100))
    try {
      const limiter = Limiter.of(redisStore(conn, freshPrefix()), 'l', { points: 1, durationSeconds: 60 })
      expect(await limiter.take('u')).toBe(0)
      expect(await limiter.take('u')).toBeGreaterThan(0)
      await down
    }
    finally {
      conn.disconnect()
    }
  })
})
