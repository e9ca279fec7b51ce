import type { ProjectEvent } from '../../shared/events'
import { MemoryEventBus, type EventBus, type EventListener } from './bus'
import { RedisChannels } from './redisChannels'

const CHANNEL_PREFIX = 'tt:project:'

export function projectChannel(projectId: string): string {
  return `${CHANNEL_PREFIX}${projectId}`
}

/** The event a message of project `projectId` carries; throws when it is not one. */
function decodeEvent(projectId: string, message: string): ProjectEvent {
  const raw = JSON.parse(message) as Record<string, unknown>
  if (
    raw === null || typeof raw !== 'object'
    || raw.projectId !== projectId
    || typeof raw.seq !== 'number' || typeof raw.id !== 'string' || typeof raw.type !== 'string'
    || typeof raw.createdAt !== 'string'
  ) {
    throw new Error('not a project event')
  }
  const createdAt = new Date(raw.createdAt)
  if (Number.isNaN(createdAt.getTime())) throw new Error('createdAt is not a date')
  return { ...(raw as unknown as ProjectEvent), createdAt }
}

export interface RedisBusOptions {
  /** Names both connections (`<name>:pub`, `<name>:sub`) in Redis `CLIENT LIST`; default `tt-bus-<pid>`. */
  name?: string
}

/**
 * The event bus across instances: Redis pub/sub, one channel per project (`tt:project:<id>`), on the
 * keyed channels of `redisChannels.ts` (one publisher and one subscriber connection per instance; a
 * project's channel is joined while this instance has a listener of that project).
 *
 * - A message is the JSON of the event. Each received message is decoded once (`createdAt` back to
 *   a Date) and the same frozen object goes to every local listener.
 * - An instance's own publications reach its own listeners through Redis too, so exactly once.
 * - Delivery is at-most-once: subscribers heal gaps from the event log (`projectStream.ts`).
 */
export class RedisBus implements EventBus {
  /** Local dispatch: freezes each event once and calls this instance's listeners. */
  private readonly local = new MemoryEventBus()
  private readonly channels: RedisChannels<ProjectEvent>

  constructor(url: string, options: RedisBusOptions = {}) {
    this.channels = new RedisChannels<ProjectEvent>({
      url,
      name: options.name ?? `tt-bus-${process.pid}`,
      prefix: CHANNEL_PREFIX,
      label: 'Redis bus',
      encode: event => JSON.stringify(event),
      decode: decodeEvent,
      deliver: (_, event) => this.local.publish(event),
    })
  }

  publish(event: ProjectEvent): void {
    this.channels.publish(event.projectId, event, { seq: event.seq })
  }

  subscribe(projectId: string, listener: EventListener): () => void {
    const leave = this.channels.join(projectId)
    const unsubscribe = this.local.subscribe(projectId, listener)
    return () => {
      unsubscribe()
      leave()
    }
  }

  /** Listeners on this instance (tests, metrics). */
  listenerCount(projectId: string): number {
    return this.local.listenerCount(projectId)
  }

  /** Resolves once both connections are ready (tests; the app never waits for Redis). */
  ready(): Promise<void> {
    return this.channels.ready()
  }

  /** Closes both connections; listeners get nothing more. */
  close(): Promise<void> {
    return this.channels.close()
  }
}
