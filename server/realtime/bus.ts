import type { ProjectEvent } from '../../shared/events'
import { logger } from '../utils/logger'
import { useServices } from '../container'

export type EventListener = (event: ProjectEvent) => void

/**
 * Carries committed project events to this instance's subscribers. Delivery is at-most-once and
 * may skip events (a Redis implementation can drop messages); subscribers heal gaps from the log,
 * so a bus never needs to be reliable, only fast.
 */
export interface EventBus {
  /** Fire and forget: never awaits subscribers. */
  publish: (event: ProjectEvent) => void
  /** Returns the unsubscribe function. */
  subscribe: (projectId: string, listener: EventListener) => () => void
}

/** Freezes an event (and its data) so one object can be shared by every subscriber and cached encodings stay valid. */
export function freezeEvent(event: ProjectEvent): ProjectEvent {
  return deepFreeze(event)
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Date)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/**
 * The single-instance bus. A Redis bus (REDIS_URL) implements the same interface: publish sends to a
 * channel per project, and each instance dispatches what it receives through one of these.
 */
export class MemoryEventBus implements EventBus {
  private readonly listeners = new Map<string, Set<EventListener>>()
  /** Test hook: return false to drop an event, as a lossy transport would. */
  dropFilter: ((event: ProjectEvent) => boolean) | null = null

  publish(event: ProjectEvent): void {
    if (this.dropFilter && !this.dropFilter(event)) return
    const set = this.listeners.get(event.projectId)
    if (!set) return
    const frozen = freezeEvent(event)
    // Copy: a listener may unsubscribe (or subscribe) while we iterate.
    for (const listener of [...set]) {
      try {
        listener(frozen)
      }
      catch (error) {
        logger.error('event listener failed', { projectId: event.projectId, seq: event.seq, message: (error as Error).message })
      }
    }
  }

  subscribe(projectId: string, listener: EventListener): () => void {
    let set = this.listeners.get(projectId)
    if (!set) {
      set = new Set()
      this.listeners.set(projectId, set)
    }
    set.add(listener)
    return () => {
      const current = this.listeners.get(projectId)
      if (!current) return
      current.delete(listener)
      if (current.size === 0) this.listeners.delete(projectId)
    }
  }

  /** Subscribers on this instance (tests, metrics). */
  listenerCount(projectId: string): number {
    return this.listeners.get(projectId)?.size ?? 0
  }
}

/** The installed bus (server/container.ts): HTTP mutations publish on it, WebSocket subscriptions listen on it. */
export function useEventBus(): EventBus {
  return useServices().bus
}
