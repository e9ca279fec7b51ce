import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { limiterRedisConnection, RedisTokenBucketLimiter } from '../../server/utils/rateLimit'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'

function clock(start = 1_700_000_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

let prefixes = 0
/** Each test its own key space, so tests do not share buckets. */
const freshPrefix = () => `test:${process.pid}:${++prefixes}:`

/** Resolves once the connection is ready (the limiter's connection has no offline queue). */
function ready(redis: Redis) {
  return redis.status === 'ready' ? Promise.resolve() : new Promise<void>(resolve => redis.once('ready', () => resolve()))
}

describe.runIf(redisAvailable())('RedisTokenBucketLimiter (buckets shared through Redis)', () => {
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

  function pair(capacity: number, perSecond: number) {
    const c = clock()
    const prefix = freshPrefix()
    return {
      clock: c,
      prefix,
      a: new RedisTokenBucketLimiter(connA, capacity, perSecond, { prefix, now: c.now }),
      b: new RedisTokenBucketLimiter(connB, capacity, perSecond, { prefix, now: c.now }),
    }
  }

  it('two instances draw on one budget per key', async () => {
    const { a, b } = pair(5, 1)
    expect([await a.take('user:1'), await a.take('user:1'), await a.take('user:1')]).toEqual([0, 0, 0])
    expect([await b.take('user:1'), await b.take('user:1')]).toEqual([0, 0])
    expect(await a.take('user:1')).toBe(1)
    expect(await b.take('user:1')).toBe(1)
    // Another key has its own bucket.
    expect(await b.take('user:2')).toBe(0)
  })

  it('holds under concurrent takes from both instances (atomic script)', async () => {
    const { a, b } = pair(30, 10)
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take('user:burst')))
    expect(results.filter(r => r === 0)).toHaveLength(30)
    expect(results.filter(r => r > 0)).toHaveLength(30)
  })

  it('refills by elapsed time, never above capacity', async () => {
    const { a, b, clock: c } = pair(2, 1)
    await a.take('k')
    await b.take('k')
    expect(await a.take('k')).toBe(1)
    c.advance(1_000)
    expect(await b.take('k')).toBe(0)
    expect(await a.take('k')).toBe(1)
    c.advance(60_000)
    expect([await a.take('k'), await b.take('k'), await a.take('k')]).toEqual([0, 0, 1])
  })

  it('answers the seconds until a token is back; refused takes use nothing up', async () => {
    const { a, b, clock: c } = pair(3, 1 / 10)
    expect([await a.take('slow'), await a.take('slow'), await b.take('slow')]).toEqual([0, 0, 0])
    expect(await a.take('slow')).toBe(10)
    c.advance(4_000)
    expect(await b.take('slow')).toBe(6)
    c.advance(6_000)
    expect(await a.take('slow')).toBe(0)
  })

  it('supports a cost per call', async () => {
    const { a, b } = pair(5, 1)
    expect(await a.take('c', 4)).toBe(0)
    expect(await b.take('c', 4)).toBe(3)
    expect(await b.take('c', 1)).toBe(0)
  })

  it('a peer whose clock lags does not undo a refill', async () => {
    const c = clock()
    const prefix = freshPrefix()
    const ahead = new RedisTokenBucketLimiter(connA, 1, 1, { prefix, now: c.now })
    const behind = new RedisTokenBucketLimiter(connB, 1, 1, { prefix, now: () => c.now() - 5_000 })
    expect(await ahead.take('skew')).toBe(0)
    expect(await behind.take('skew')).toBe(1)
    c.advance(1_000)
    expect(await ahead.take('skew')).toBe(0)
  })

  it('keeps a key only until its bucket would be full again', async () => {
    const { a, prefix } = pair(30, 10)
    for (let i = 0; i < 10; i++) await a.take('ttl')
    const ttl = await admin.pttl(`${prefix}ttl`)
    // 10 tokens missing at 10/s: full again in 1 s, plus a second of slack.
    expect(ttl).toBeGreaterThan(1_000)
    expect(ttl).toBeLessThanOrEqual(2_000)
  })

  it('fails open when Redis goes away, reporting the outage once', async () => {
    const own = await startRedis()
    const conn = limiterRedisConnection(own.url, 'test-limiter-down')
    await ready(conn)
    const errors: Error[] = []
    const limiter = new RedisTokenBucketLimiter(conn, 1, 1 / 60, { prefix: freshPrefix(), now: clock().now, onError: e => errors.push(e) })
    try {
      expect(await limiter.take('u')).toBe(0)
      expect(await limiter.take('u')).toBe(60)
      const closed = new Promise<void>(resolve => conn.once('close', () => resolve()))
      await own.stop()
      await closed
      const started = Date.now()
      expect([await limiter.take('u'), await limiter.take('u'), await limiter.take('u')]).toEqual([0, 0, 0])
      // No offline queue: a down Redis costs a call no waiting.
      expect(Date.now() - started).toBeLessThan(1_000)
      expect(errors).toHaveLength(1)
    }
    finally {
      conn.disconnect()
      await own.stop()
    }
  })

  it('fails open against a Redis that never answered', async () => {
    const { freePort } = await import('../setup/postgres')
    const conn = limiterRedisConnection(`redis://127.0.0.1:${await freePort()}`, 'test-limiter-nowhere')
    try {
      const limiter = new RedisTokenBucketLimiter(conn, 1, 1, { prefix: freshPrefix() })
      expect([await limiter.take('u'), await limiter.take('u')]).toEqual([0, 0])
    }
    finally {
      conn.disconnect()
    }
  })
})
