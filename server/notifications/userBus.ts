import superjson from 'superjson'
import type { NotificationStreamEvent } from '../../shared/schemas/notification'
import { RedisChannels } from '../realtime/redisChannels'
import { logger } from '../utils/logger'
import { useServices } from '../container'

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

const USER_CHANNEL_PREFIX = 'tt:user:'

export function userChannel(userId: string): string {
  return `${USER_CHANNEL_PREFIX}${userId}`
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
  private readonly local = new MemoryUserBus()
  private readonly channels: RedisChannels<NotificationStreamEvent>

  constructor(url: string, options: RedisUserBusOptions = {}) {
    this.channels = new RedisChannels<NotificationStreamEvent>({
      url,
      name: options.name ?? `tt-notify-${process.pid}`,
      prefix: USER_CHANNEL_PREFIX,
      label: 'notification bus',
      encode: event => superjson.stringify(event),
      decode: (_, raw) => {
        const event = superjson.parse<NotificationStreamEvent>(raw)
        if (!event || typeof event !== 'object' || !('kind' in event)) throw new Error('not a notification event')
        return event
      },
      deliver: (userId, event) => this.local.publish(userId, event),
    })
  }

  publish(userId: string, event: NotificationStreamEvent): void {
    this.channels.publish(userId, event, { userId })
  }

  subscribe(userId: string, listener: UserListener): () => void {
    const leave = this.channels.join(userId)
    const unsubscribe = this.local.subscribe(userId, listener)
    return () => {
      unsubscribe()
      leave()
    }
  }

  listenerCount(userId: string): number {
    return this.local.listenerCount(userId)
  }

  /** Resolves once both connections are ready and every pending SUBSCRIBE has been acknowledged (tests). */
  ready(): Promise<void> {
    return this.channels.ready()
  }

  close(): Promise<void> {
    return this.channels.close()
  }
}

export function useUserBus(): UserBus {
  return useServices().userBus
}
