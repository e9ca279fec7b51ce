import { Redis, type Result } from 'ioredis'

/**
 * Token bucket per key, in process. `capacity` requests at once, refilled at `perSecond`.
 * Buckets that are full again are forgotten, so memory stays bounded by active keys.
 */
export class TokenBucketLimiter {
  private buckets = new Map<string, { tokens: number, at: number }>()

  constructor(private capacity: number, private perSecond: number, private now: () => number = Date.now) {}

  /** Takes one token; returns 0 when allowed, otherwise the seconds until one is available. */
  take(key: string, cost = 1): number {
    const now = this.now()
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
    bucket.at = now
    if (bucket.tokens < cost) {
      this.buckets.set(key, bucket)
      return Math.ceil((cost - bucket.tokens) / this.perSecond)
    }
    bucket.tokens -= cost
    this.buckets.set(key, bucket)
    if (this.buckets.size > 10_000) this.sweep(now)
    return 0
  }

  reset(key: string) {
    this.buckets.delete(key)
  }

  private sweep(now: number) {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.capacity) this.buckets.delete(key)
    }
  }
}

/** What the socket rate limit needs of a limiter: the in-process one answers at once, the Redis one later. */
export interface CallLimiter {
  /** Takes `cost` tokens of `key`'s bucket; 0 when allowed, otherwise the seconds to wait. */
  take: (key: string, cost?: number) => number | Promise<number>
}

/**
 * One bucket as a Redis hash `{ tokens, at }`, updated atomically: refill by the time elapsed since
 * `at` (never backwards, so a peer whose clock lags cannot undo a refill), take `cost` when there is
 * enough, and expire the key once it would be full again (an idle key costs nothing).
 * Returns the whole seconds to wait, 0 when allowed.
 */
const TAKE_TOKEN_SCRIPT = `
local capacity = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) / 1000 * per_second)
  at = now
end
local retry = 0
if tokens < cost then
  retry = math.ceil((cost - tokens) / per_second)
else
  tokens = tokens - cost
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / per_second * 1000) + 1000)
return retry
`

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttTakeToken: (key: string, capacity: number, perSecond: number, now: number, cost: number) => Result<number, Context>
  }
}

/** Connections the script is defined on (several limiters may share one). */
const withScript = new WeakSet<Redis>()

export interface RedisTokenBucketOptions {
  /** key prefix in Redis; default `tt:ratelimit:` */
  prefix?: string
  now?: () => number
  /** called once per outage when Redis fails (the limiter then allows the call) */
  onError?: (error: Error) => void
}

/**
 * The same token bucket as {@link TokenBucketLimiter}, kept in Redis so that every instance draws on
 * one budget per key. Fails open: while Redis errors, every call is allowed and the outage reported
 * once through `onError`; a rate limit must never take the API down with it.
 */
export class RedisTokenBucketLimiter implements CallLimiter {
  private failing = false
  private readonly prefix: string
  private readonly now: () => number

  constructor(private redis: Redis, private capacity: number, private perSecond: number, private options: RedisTokenBucketOptions = {}) {
    this.prefix = options.prefix ?? 'tt:ratelimit:'
    this.now = options.now ?? Date.now
    // defineCommand sends EVALSHA and falls back to EVAL when Redis does not know the script (after a restart).
    if (!withScript.has(redis)) {
      redis.defineCommand('ttTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN_SCRIPT })
      withScript.add(redis)
    }
  }

  async take(key: string, cost = 1): Promise<number> {
    try {
      const retryAfter = await this.redis.ttTakeToken(`${this.prefix}${key}`, this.capacity, this.perSecond, this.now(), cost)
      this.failing = false
      return Number(retryAfter)
    }
    catch (error) {
      if (!this.failing) {
        this.failing = true
        this.options.onError?.(error as Error)
      }
      return 0
    }
  }
}

/**
 * A connection for {@link RedisTokenBucketLimiter}: commands fail at once while it is disconnected
 * (no offline queue) or after 1 s, so a Redis outage costs a call nothing but the fail-open.
 */
export function limiterRedisConnection(url: string, name = `tt-ratelimit-${process.pid}`): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  })
  // Errors surface through the limiter's commands; without a listener ioredis prints each one.
  redis.on('error', () => {})
  return redis
}
