import { Redis } from 'ioredis'
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'

/** What a caller needs of a limiter: the in-process one answers at once, the Redis one later. */
export interface CallLimiter {
  /** Takes `cost` points of `key`'s budget; 0 when allowed, otherwise the seconds to wait. */
  take: (key: string, cost?: number) => number | Promise<number>
}

/**
 * `points` per `durationSeconds` per key, counted in a fixed window that starts with the key's first
 * point; past it, the key is refused for `blockSeconds` (default: until the window ends).
 */
export interface LimitSpec {
  points: number
  durationSeconds: number
  blockSeconds?: number
}

/**
 * Where counters live. In memory they count for one process. In Redis every instance draws on one
 * budget per key; when Redis cannot answer (down, not yet connected, slower than the connection's
 * command timeout) each call is counted by an in-memory "insurance" limiter with the same spec
 * instead: limits then hold per instance — never wide open, never a refused call because Redis is down.
 */
export interface LimiterStore {
  readonly kind: 'memory' | 'redis'
  /** a limiter of this store; `name` separates its keys from other limiters' */
  create: (name: string, spec: LimitSpec) => RateLimiterAbstract
}

const memoryOptions = (keyPrefix: string, spec: LimitSpec) => ({
  keyPrefix,
  points: spec.points,
  duration: spec.durationSeconds,
  blockDuration: spec.blockSeconds ?? 0,
})

export function memoryStore(): LimiterStore {
  return { kind: 'memory', create: (name, spec) => new RateLimiterMemory(memoryOptions(name, spec)) }
}

/** `prefix` + limiter name + key is the Redis key; default `tt:rl:`. */
export function redisStore(redis: Redis, prefix = 'tt:rl:'): LimiterStore {
  return {
    kind: 'redis',
    create: (name, spec) => new RateLimiterRedis({
      ...memoryOptions(`${prefix}${name}`, spec),
      storeClient: redis,
      // Not connected: straight to the insurance limiter instead of a command that can only fail.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(memoryOptions(`${prefix}${name}`, spec)),
    }),
  }
}

/** Whole seconds to wait, at least 1 (a refusal never says "retry in 0 s"). */
function retrySeconds(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000))
}

async function secondsToWait(consume: Promise<RateLimiterRes>): Promise<number> {
  try {
    await consume
    return 0
  }
  catch (error) {
    if (error instanceof RateLimiterRes) return retrySeconds(error)
    throw error
  }
}

/** A limiter of a {@link LimiterStore} behind {@link CallLimiter}, plus what sign-in needs: reset and refund. */
export class Limiter implements CallLimiter {
  constructor(readonly limiter: RateLimiterAbstract) {}

  static of(store: LimiterStore, name: string, spec: LimitSpec): Limiter {
    return new Limiter(store.create(name, spec))
  }

  take(key: string, cost = 1): Promise<number> {
    return secondsToWait(this.limiter.consume(key, cost))
  }

  /** Forgets `key` (a successful sign-in clears its failures). */
  async reset(key: string): Promise<void> {
    await this.limiter.delete(key)
  }

  /** Gives back points taken up front for something that turned out fine. */
  async refund(key: string, points = 1): Promise<void> {
    await this.limiter.reward(key, points)
  }
}

/** Token-bucket-like limit of calls: `capacity` at once, `perSecond` sustained. */
export interface CallRate {
  capacity: number
  perSecond: number
}

/** The burst above the sustained rate is refilled over this many seconds. */
export const BURST_WINDOW_SECONDS = 10

/**
 * `perSecond` calls per second, and on top of that a burst of `capacity - perSecond` per
 * {@link BURST_WINDOW_SECONDS} (rate-limiter-flexible's BurstyRateLimiter): `capacity` calls at once,
 * then `perSecond`. A refusal says when the next second's budget starts.
 */
export function callLimiter(store: LimiterStore, name: string, rate: CallRate): CallLimiter {
  const sustained = store.create(name, { points: rate.perSecond, durationSeconds: 1 })
  const burst = store.create(`${name}:burst`, { points: Math.max(1, rate.capacity - rate.perSecond), durationSeconds: BURST_WINDOW_SECONDS })
  const limiter = new BurstyRateLimiter(sustained, burst)
  return { take: (key, cost = 1) => secondsToWait(limiter.consume(key, cost)) }
}

/**
 * A connection for limiters: commands fail at once while it is disconnected (no offline queue) or
 * after 1 s, so a Redis outage costs a call nothing but the switch to the insurance limiter.
 * Commands of one turn of the event loop go out in one write (auto-pipelining): in a connection
 * storm each socket takes tokens, and a write per command was a fifth of an instance's CPU.
 */
export function limiterRedisConnection(url: string, name = `tt-ratelimit-${process.pid}`): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  })
  // Errors surface through the limiters' commands; without a listener ioredis prints each one.
  redis.on('error', () => {})
  return redis
}

/**
 * Reports a limiter connection's outages once each: `onDown` when it stops being usable (or never
 * became so within `firstConnectMs`), `onUp` when it is back. Returns a function that stops watching.
 */
export function watchLimiterConnection(redis: Redis, handlers: { onDown: () => void, onUp: () => void }, firstConnectMs = 5_000): () => void {
  let down = false
  const markDown = () => {
    if (down) return
    down = true
    handlers.onDown()
  }
  const markUp = () => {
    clearTimeout(firstConnect)
    if (!down) return
    down = false
    handlers.onUp()
  }
  const firstConnect = setTimeout(() => redis.status !== 'ready' && markDown(), firstConnectMs)
  firstConnect.unref?.()
  redis.on('ready', markUp)
  redis.on('close', markDown)
  return () => {
    clearTimeout(firstConnect)
    redis.off('ready', markUp)
    redis.off('close', markDown)
  }
}
