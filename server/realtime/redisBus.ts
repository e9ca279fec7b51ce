import { Redis } from 'ioredis'
import type { ProjectEvent } from '../../shared/events'
import { logger } from '../utils/logger'
import { MemoryEventBus, type EventBus, type EventListener } from './bus'

const CHANNEL_PREFIX = 'tt:project:'

export function projectChannel(projectId: string): string {
  return `${CHANNEL_PREFIX}${projectId}`
}

/** The event a message carries, or null when it is not one (logged, then ignored). */
function decodeEvent(channel: string, message: string): ProjectEvent | null {
  try {
    const raw = JSON.parse(message) as Record<string, unknown>
    if (
      raw === null || typeof raw !== 'object'
      || typeof raw.projectId !== 'string' || projectChannel(raw.projectId) !== channel
      || typeof raw.seq !== 'number' || typeof raw.id !== 'string' || typeof raw.type !== 'string'
      || typeof raw.createdAt !== 'string'
    ) {
      throw new Error('not a project event')
    }
    const createdAt = new Date(raw.createdAt)
    if (Number.isNaN(createdAt.getTime())) throw new Error('createdAt is not a date')
    return { ...(raw as unknown as ProjectEvent), createdAt }
  }
  catch (error) {
    logger.error('ignoring a malformed message on the Redis bus', { channel, message: (error as Error).message })
    return null
  }
}

export interface RedisBusOptions {
  /** Names both connections (`<name>:pub`, `<name>:sub`) in Redis `CLIENT LIST`; default `tt-bus-<pid>`. */
  name?: string
}

/**
 * The event bus across instances: Redis pub/sub, one channel per project (`tt:project:<id>`).
 *
 * - One publisher and one subscriber connection per instance. The subscriber joins a project's
 *   channel when the first local listener of that project arrives and leaves it with the last one.
 * - A message is the JSON of the event. Each received message is decoded once (`createdAt` back to
 *   a Date) and the same frozen object goes to every local listener.
 * - An instance's own publications reach its own listeners through Redis too, so exactly once.
 * - Delivery is at-most-once: a message published while a subscriber is reconnecting is lost.
 *   Subscribers heal such gaps from the event log (`projectStream.ts`), so the bus only logs
 *   connection errors and never throws at callers. ioredis reconnects by itself and resubscribes
 *   the subscriber connection's channels (`autoResubscribe`, on by default).
 */
export class RedisBus implements EventBus {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  /** Local dispatch: freezes each event once and calls this instance's listeners. */
  private readonly local = new MemoryEventBus()
  private closed = false

  constructor(url: string, options: RedisBusOptions = {}) {
    const name = options.name ?? `tt-bus-${process.pid}`
    const common = {
      // Keep retrying for ever (capped backoff); commands issued meanwhile wait in the offline queue
      // and fail after maxRetriesPerRequest reconnect attempts, which publish() only logs.
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
      maxRetriesPerRequest: 20,
    }
    this.publisher = new Redis(url, { ...common, connectionName: `${name}:pub` })
    this.subscriber = new Redis(url, { ...common, connectionName: `${name}:sub`, autoResubscribe: true })
    this.watch(this.publisher, 'publisher')
    this.watch(this.subscriber, 'subscriber')
    this.subscriber.on('message', (channel: string, message: string) => {
      const event = decodeEvent(channel, message)
      if (event) this.local.publish(event)
    })
  }

  /** Logs a connection's failures once per outage (ioredis emits one error per reconnect attempt). */
  private watch(connection: Redis, role: string) {
    let failing = false
    connection.on('error', (error: Error) => {
      if (failing || this.closed) return
      failing = true
      logger.error(`Redis bus ${role} connection failed; reconnecting (live events may be delayed until the next one heals the gap)`, { message: error.message })
    })
    connection.on('ready', () => {
      if (failing) logger.info(`Redis bus ${role} connection is back`)
      failing = false
    })
  }

  publish(event: ProjectEvent): void {
    if (this.closed) return
    this.publisher.publish(projectChannel(event.projectId), JSON.stringify(event)).catch((error: Error) => {
      logger.error('publishing an event on Redis failed', { projectId: event.projectId, seq: event.seq, message: error.message })
    })
  }

  subscribe(projectId: string, listener: EventListener): () => void {
    const channel = projectChannel(projectId)
    if (this.local.listenerCount(projectId) === 0 && !this.closed) {
      this.subscriber.subscribe(channel).catch((error: Error) => {
        logger.error('subscribing to a Redis channel failed', { channel, message: error.message })
      })
    }
    const unsubscribe = this.local.subscribe(projectId, listener)
    let done = false
    return () => {
      if (done) return
      done = true
      unsubscribe()
      if (this.local.listenerCount(projectId) === 0 && !this.closed) {
        // Commands on one connection run in order: a subscribe that follows re-joins the channel.
        this.subscriber.unsubscribe(channel).catch((error: Error) => {
          logger.error('unsubscribing from a Redis channel failed', { channel, message: error.message })
        })
      }
    }
  }

  /** Listeners on this instance (tests, metrics). */
  listenerCount(projectId: string): number {
    return this.local.listenerCount(projectId)
  }

  /** Resolves once both connections are ready (tests; the app never waits for Redis). */
  async ready(): Promise<void> {
    await Promise.all([this.publisher, this.subscriber].map(c => c.status === 'ready'
      ? undefined
      : new Promise<void>(resolve => c.once('ready', () => resolve()))))
  }

  /** Closes both connections; listeners get nothing more. */
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
