import { Redis } from 'ioredis'
import superjson from 'superjson'
import type { NotificationStreamEvent } from '../../shared/schemas/notification'
import { logger } from '../utils/logger'

export type UserListener = (event: NotificationStreamEvent) => void

/**
 * Carries a user's notification changes to the streams of that user on this instance (and, with
 * Redis, on every instance). At-most-once like the project bus: `notification.onEvent` heals a lost
 * message from the database by seq, so the bus only has to be fast.
 */
export interface UserBus {
  /** Fire and forget. */
  publish: (userId: string, event: NotificationStreamEvent) => void
  /** Returns the unsubscribe function. */
  subscribe: (userId: string, listener: UserListener) => () => void
}

export class MemoryUserBus implements UserBus {
  private readonly listeners = new Map<string, Set<UserListener>>()
  /** Test hook: return false to drop a message, as a lossy transport would. */
  dropFilter: ((userId: string, event: NotificationStreamEvent) => boolean) | null = null

  publish(userId: string, event: NotificationStreamEvent): void {
    if (this.dropFilter && !this.dropFilter(userId, event)) return
    const set = this.listeners.get(userId)
    if (!set) return
    Object.freeze(event)
    for (const listener of [...set]) {
      try {
        listener(event)
      }
      catch (error) {
        logger.error('notification listener failed', { userId, message: (error as Error).message })
      }
    }
  }

  subscribe(userId: string, listener: UserListener): () => void {
    let set = this.listeners.get(userId)
    if (!set) this.listeners.set(userId, set = new Set())
    set.add(listener)
    return () => {
      const current = this.listeners.get(userId)
      if (!current) return
      current.delete(listener)
      if (current.size === 0) this.listeners.delete(userId)
    }
  }

  listenerCount(userId: string): number {
    return this.listeners.get(userId)?.size ?? 0
  }
}

export function userChannel(userId: string): string {
  return `tt:user:${userId}`
}

export interface RedisUserBusOptions {
  /** Names both connections (`<name>:pub`, `<name>:sub`) in `CLIENT LIST`; default `tt-notify-<pid>`. */
  name?: string
}

/**
 * Redis pub/sub, one channel per user (`tt:user:<userId>`), with its own two connections (it does not
 * share the project bus's). An instance subscribes to a user's channel while it has a local stream of
 * that user. Messages are superjson, so dates survive the trip.
 */
export class RedisUserBus implements UserBus {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private readonly local = new MemoryUserBus()
  private closed = false

  constructor(url: string, options: RedisUserBusOptions = {}) {
    const name = options.name ?? `tt-notify-${process.pid}`
    const common = { retryStrategy: (times: number) => Math.min(100 * times, 2_000), maxRetriesPerRequest: 20 }
    this.publisher = new Redis(url, { ...common, connectionName: `${name}:pub` })
    this.subscriber = new Redis(url, { ...common, connectionName: `${name}:sub`, autoResubscribe: true })
    for (const [connection, role] of [[this.publisher, 'publisher'], [this.subscriber, 'subscriber']] as const) {
      let failing = false
      connection.on('error', (error: Error) => {
        if (failing || this.closed) return
        failing = true
        logger.error(`Redis notification ${role} connection failed; reconnecting`, { message: error.message })
      })
      connection.on('ready', () => {
        failing = false
      })
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (!channel.startsWith('tt:user:')) return
      try {
        const event = superjson.parse<NotificationStreamEvent>(message)
        if (!event || typeof event !== 'object' || !('kind' in event)) throw new Error('not a notification event')
        this.local.publish(channel.slice('tt:user:'.length), event)
      }
      catch (error) {
        logger.error('ignoring a malformed message on the notification bus', { channel, message: (error as Error).message })
      }
    })
  }

  publish(userId: string, event: NotificationStreamEvent): void {
    if (this.closed) return
    this.publisher.publish(userChannel(userId), superjson.stringify(event)).catch((error: Error) => {
      logger.error('publishing a notification on Redis failed', { userId, message: error.message })
    })
  }

  subscribe(userId: string, listener: UserListener): () => void {
    const channel = userChannel(userId)
    if (this.local.listenerCount(userId) === 0 && !this.closed) {
      this.subscriber.subscribe(channel).catch((error: Error) => {
        logger.error('subscribing to a Redis channel failed', { channel, message: error.message })
      })
    }
    const unsubscribe = this.local.subscribe(userId, listener)
    let done = false
    return () => {
      if (done) return
      done = true
      unsubscribe()
      if (this.local.listenerCount(userId) === 0 && !this.closed) {
        this.subscriber.unsubscribe(channel).catch((error: Error) => {
          logger.error('unsubscribing from a Redis channel failed', { channel, message: error.message })
        })
      }
    }
  }

  listenerCount(userId: string): number {
    return this.local.listenerCount(userId)
  }

  /** Resolves once both connections are ready and every pending SUBSCRIBE has been acknowledged (tests). */
  async ready(): Promise<void> {
    await Promise.all([this.publisher, this.subscriber].map(c => c.status === 'ready'
      ? undefined
      : new Promise<void>(resolve => c.once('ready', () => resolve()))))
    // Commands on one connection answer in order: once PING answers, earlier SUBSCRIBEs have too.
    await this.subscriber.ping()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([this.publisher, this.subscriber].map(async (connection) => {
      try {
        await connection.quit()
      }
      catch {
        connection.disconnect()
      }
    }))
  }
}

let bus: UserBus = new MemoryUserBus()

export function useUserBus(): UserBus {
  return bus
}

/** Replaces the process-wide user bus (Redis at start, a fresh one in tests); returns the previous one. */
export function setUserBus(next: UserBus): UserBus {
  const previous = bus
  bus = next
  return previous
}
