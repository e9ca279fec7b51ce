import { Redis } from 'ioredis'
import { logger } from '../utils/logger'
import { useServices } from '../container'

/**
 * Counts open sockets per key (`user:<id>`, `ip:<address>`) so that a key gets at most `max`.
 * One slot per socket (its connection id); released when the socket closes.
 */
export interface SocketSlots {
  /** Takes a slot for `connId` under `key`; false when `key` already holds `max` others. */
  acquire: (key: string, connId: string, max: number) => Promise<boolean>
  release: (key: string, connId: string) => void
  close: () => Promise<void>
}

/** This instance's sockets only. */
export class MemorySocketSlots implements SocketSlots {
  private readonly slots = new Map<string, Set<string>>()

  /** Synchronous core, also the Redis slots' fallback while Redis is down. */
  take(key: string, connId: string, max: number): boolean {
    let set = this.slots.get(key)
    if (set?.has(connId)) return true
    if (set && set.size >= max) return false
    if (!set) this.slots.set(key, set = new Set())
    set.add(connId)
    return true
  }

  acquire(key: string, connId: string, max: number): Promise<boolean> {
    return Promise.resolve(this.take(key, connId, max))
  }

  release(key: string, connId: string): void {
    const set = this.slots.get(key)
    if (!set) return
    set.delete(connId)
    if (set.size === 0) this.slots.delete(key)
  }

  /** Every slot held, by key (the Redis slots refresh these). */
  entries(): IterableIterator<[string, Set<string>]> {
    return this.slots.entries()
  }

  count(key: string): number {
    return this.slots.get(key)?.size ?? 0
  }

  close(): Promise<void> {
    this.slots.clear()
    return Promise.resolve()
  }
}

// A sorted set per key: member = connection id, score = when the entry lapses (Redis server time,
// so instances' clocks do not matter). Lapsed entries (a crashed instance's) are dropped first.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`

// Pushes the lapse time of this instance's entries of one key forward (XX: a released one stays gone).
const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`

export interface RedisSocketSlotsOptions {
  /** How long an entry outlives its last heartbeat (a crashed instance's sockets stop counting after it). */
  ttlMs?: number
  /** Heartbeat period; default a third of the TTL. */
  heartbeatMs?: number
  prefix?: string
  name?: string
}

/**
 * Slots shared by every instance on one Redis. Each instance keeps its own slots in memory too,
 * refreshes their lapse time in Redis on a heartbeat, and — when Redis does not answer (within
 * 1 s) — falls back to counting its own sockets, so an outage neither lets everything in nor
 * refuses everyone.
 */
export class RedisSocketSlots implements SocketSlots {
  private readonly redis: Redis
  private readonly local = new MemorySocketSlots()
  private readonly ttlMs: number
  private readonly prefix: string
  private readonly timer: ReturnType<typeof setInterval>
  private failing = false
  private closed = false

  constructor(url: string, options: RedisSocketSlotsOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000
    this.prefix = options.prefix ?? 'tt:ws:slots:'
    this.redis = new Redis(url, {
      connectionName: options.name ?? `tt-ws-slots-${process.pid}`,
      // Every socket of a storm takes slots: the commands of one turn go out in one write.
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      commandTimeout: 1_000,
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
    })
    this.redis.on('error', () => {})
    this.redis.defineCommand('ttSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE })
    this.redis.defineCommand('ttSlotRefresh', { numberOfKeys: 1, lua: REFRESH })
    this.timer = setInterval(() => void this.heartbeat(), options.heartbeatMs ?? Math.round(this.ttlMs / 3))
    this.timer.unref()
  }

  private outage(error: unknown) {
    if (this.failing) return
    this.failing = true
    logger.error('socket caps: Redis does not answer; counting this instance\'s sockets only until it does', { message: (error as Error).message })
  }

  async acquire(key: string, connId: string, max: number): Promise<boolean> {
    if (!this.local.take(key, connId, max)) return false
    try {
      const ok = await (this.redis as unknown as SlotCommands).ttSlotAcquire(this.prefix + key, connId, max, this.ttlMs)
      if (this.failing) logger.info('socket caps: Redis answers again')
      this.failing = false
      if (ok !== 1) this.local.release(key, connId)
      return ok === 1
    }
    catch (error) {
      this.outage(error)
      return true
    }
  }

  release(key: string, connId: string): void {
    this.local.release(key, connId)
    if (this.closed) return
    this.redis.zrem(this.prefix + key, connId).catch(error => this.outage(error))
  }

  /** Keeps this instance's entries from lapsing (runs on the heartbeat; tests call it). */
  async heartbeat(): Promise<void> {
    if (this.redis.status !== 'ready') return
    const pipeline = this.redis.pipeline()
    let n = 0
    for (const [key, ids] of this.local.entries()) {
      ;(pipeline as unknown as SlotCommands).ttSlotRefresh(this.prefix + key, this.ttlMs, ...ids)
      n++
    }
    if (n === 0) return
    try {
      await pipeline.exec()
    }
    catch (error) {
      this.outage(error)
    }
  }

  /** Resolves once the connection is ready (tests). */
  async ready(): Promise<void> {
    if (this.redis.status === 'ready') return
    await new Promise<void>(resolve => this.redis.once('ready', () => resolve()))
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    await this.local.close()
    try {
      await this.redis.quit()
    }
    catch {
      this.redis.disconnect()
    }
  }
}

interface SlotCommands {
  ttSlotAcquire: (key: string, connId: string, max: number, ttlMs: number) => Promise<number>
  ttSlotRefresh: (key: string, ttlMs: number, ...ids: string[]) => Promise<number>
}

export function useSocketSlots(): SocketSlots {
  return useServices().socketSlots
}
