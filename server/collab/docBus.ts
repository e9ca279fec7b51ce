import { logger } from '../utils/logger'
import { RedisChannels } from '../realtime/redisChannels'

/** A description document's live traffic between instances (persisted updates are in the database). */
export interface DocBusMessage {
  /** the instance that sent it (it already applied and delivered it locally) */
  from: string
  taskId: string
  kind: 'update' | 'awareness'
  /** base64 Yjs update or y-protocols awareness update */
  data: string
}

export type DocBusListener = (message: DocBusMessage) => void

/** Like the project event bus (server/realtime/bus.ts): at-most-once, fire and forget, keyed by task. */
export interface DocBus {
  publish: (message: DocBusMessage) => void
  subscribe: (taskId: string, listener: DocBusListener) => () => void
  close?: () => Promise<void>
}

/** One process: every hub on it (tests run several "instances" on one) hears every message. */
export class MemoryDocBus implements DocBus {
  private readonly listeners = new Map<string, Set<DocBusListener>>()

  publish(message: DocBusMessage): void {
    for (const listener of [...this.listeners.get(message.taskId) ?? []]) {
      try {
        listener(message)
      }
      catch (error) {
        logger.error('description bus listener failed', { taskId: message.taskId, message: (error as Error).message })
      }
    }
  }

  subscribe(taskId: string, listener: DocBusListener): () => void {
    let set = this.listeners.get(taskId)
    if (!set) this.listeners.set(taskId, set = new Set())
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.listeners.get(taskId) === set) this.listeners.delete(taskId)
    }
  }
}

function decode(taskId: string, raw: string): DocBusMessage {
  const value = JSON.parse(raw) as Partial<DocBusMessage>
  if (
    !value || typeof value !== 'object' || value.taskId !== taskId || typeof value.from !== 'string'
    || (value.kind !== 'update' && value.kind !== 'awareness') || typeof value.data !== 'string'
  ) throw new Error('not a description message')
  return value as DocBusMessage
}

/** Across instances: Redis pub/sub, channel `tt:ydoc:<taskId>`, joined while this instance has the document open. */
export class RedisDocBus implements DocBus {
  private readonly local = new MemoryDocBus()
  private readonly channels: RedisChannels<DocBusMessage>

  constructor(url: string, name = `tt-ydoc-${process.pid}`) {
    this.channels = new RedisChannels<DocBusMessage>({
      url,
      name,
      prefix: 'tt:ydoc:',
      label: 'description bus',
      encode: message => JSON.stringify(message),
      decode,
      deliver: (_, message) => this.local.publish(message),
    })
  }

  publish(message: DocBusMessage): void {
    this.channels.publish(message.taskId, message, { kind: message.kind })
  }

  subscribe(taskId: string, listener: DocBusListener): () => void {
    const leave = this.channels.join(taskId)
    const off = this.local.subscribe(taskId, listener)
    return () => {
      off()
      leave()
    }
  }

  ready(): Promise<void> {
    return this.channels.ready()
  }

  close(): Promise<void> {
    return this.channels.close()
  }
}
