import { Redis } from 'ioredis'
import { logger } from '../utils/logger'

export interface RedisChannelsOptions<T> {
  url: string
  /** Names both connections (`<name>:pub`, `<name>:sub`) in Redis `CLIENT LIST`. */
  name: string
  /** Channel of key `k` is `<prefix><k>` (`tt:project:`, `tt:user:`). */
  prefix: string
  /** What the logs call this bus. */
  label: string
  encode: (message: T) => string
  /** The message a channel carried; throws when it is not one (logged, then ignored). */
  decode: (key: string, raw: string) => T
  /** Hands a decoded message to this instance's listeners of `key`. */
  deliver: (key: string, message: T) => void
}

/**
 * Keyed Redis pub/sub for one instance: one publisher and one subscriber connection, a channel per
 * key, joined while at least one local listener of that key exists. Delivery is at-most-once (a
 * message published while the subscriber reconnects is lost); the buses built on it heal losses
 * from their durable source, so this only logs connection errors (once per outage) and never
 * throws at callers. ioredis reconnects by itself and resubscribes the channels (`autoResubscribe`).
 */
export class RedisChannels<T> {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private readonly joined = new Map<string, number>()
  private closed = false

  constructor(private readonly options: RedisChannelsOptions<T>) {
    const common = {
      // Keep retrying for ever (capped backoff); commands issued meanwhile wait in the offline queue
      // and fail after maxRetriesPerRequest reconnect attempts, which publish() only logs.
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
      maxRetriesPerRequest: 20,
    }
    this.publisher = new Redis(options.url, { ...common, connectionName: `${options.name}:pub` })
    this.subscriber = new Redis(options.url, { ...common, connectionName: `${options.name}:sub`, autoResubscribe: true })
    this.watch(this.publisher, 'publisher')
    this.watch(this.subscriber, 'subscriber')
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (!channel.startsWith(options.prefix)) return
      const key = channel.slice(options.prefix.length)
      let message: T
      try {
        message = options.decode(key, raw)
      }
      catch (error) {
        logger.error(`ignoring a malformed message on the ${options.label}`, { channel, message: (error as Error).message })
        return
      }
      options.deliver(key, message)
    })
  }

  channel(key: string): string {
    return `${this.options.prefix}${key}`
  }

  /** Logs a connection's failures once per outage (ioredis emits one error per reconnect attempt). */
  private watch(connection: Redis, role: string) {
    let failing = false
    connection.on('error', (error: Error) => {
      if (failing || this.closed) return
      failing = true
      logger.error(`${this.options.label} ${role} connection failed; reconnecting (live messages may be delayed until the next one heals the gap)`, { message: error.message })
    })
    connection.on('ready', () => {
      if (failing) logger.info(`${this.options.label} ${role} connection is back`)
      failing = false
    })
  }

  /** Fire and forget; `context` goes into the log line if publishing fails. */
  publish(key: string, message: T, context: Record<string, unknown> = {}): void {
    if (this.closed) return
    this.publisher.publish(this.channel(key), this.options.encode(message)).catch((error: Error) => {
      logger.error(`publishing on the ${this.options.label} failed`, { ...context, key, message: error.message })
    })
  }

  /** Joins `key`'s channel for one more local listener; the returned function leaves it (once). */
  join(key: string): () => void {
    const count = this.joined.get(key) ?? 0
    this.joined.set(key, count + 1)
    if (count === 0 && !this.closed) {
      this.subscriber.subscribe(this.channel(key)).catch((error: Error) => {
        logger.error('subscribing to a Redis channel failed', { channel: this.channel(key), message: error.message })
      })
    }
    let left = false
    return () => {
      if (left) return
      left = true
      const remaining = (this.joined.get(key) ?? 1) - 1
      if (remaining > 0) {
        this.joined.set(key, remaining)
        return
      }
      this.joined.delete(key)
      if (!this.closed) {
        // Commands on one connection run in order: a subscribe that follows re-joins the channel.
        this.subscriber.unsubscribe(this.channel(key)).catch((error: Error) => {
          logger.error('unsubscribing from a Redis channel failed', { channel: this.channel(key), message: error.message })
        })
      }
    }
  }

  /** Resolves once both connections are ready and every SUBSCRIBE sent so far is acknowledged (tests; the app never waits). */
  async ready(): Promise<void> {
    await Promise.all([this.publisher, this.subscriber].map(c => c.status === 'ready'
      ? undefined
      : new Promise<void>(resolve => c.once('ready', () => resolve()))))
    // Commands on one connection answer in order: once PING answers, earlier SUBSCRIBEs have too.
    await this.subscriber.ping()
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
