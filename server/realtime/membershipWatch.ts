import { membershipEndingEvents, type ProjectEvent } from '../../shared/events'
import type { Db } from '../utils/db'
import { logger } from '../utils/logger'
import type { EventBus } from './bus'

/** True for the event that takes `userId` out of its project (member.removed / member.left about them). */
export function endsMembership(event: { type: string, entityId: string | null }, userId: string): boolean {
  return event.entityId === userId && (membershipEndingEvents as readonly string[]).includes(event.type)
}

/**
 * Ends a stream that carries no project events (presence, a description document) when its user
 * leaves the project: one bus listener that checks each event as it passes (no queue, nothing
 * kept), and remembers the newest seq seen. When the bus skipped events (a seq gap: a Redis hiccup
 * may lose the very message that removed the user), it marks itself `unsure` and wakes the stream,
 * which asks the log whether an event after the last seq known removed them — as the project stream
 * heals its gaps.
 */
export class MembershipWatch {
  ended = false
  /** seq after which events may have been missed (a gap), or null */
  private unsureAfter: number | null = null
  /** a check that failed, asked again at the next event */
  private retryAfter: number | null = null
  /** newest seq seen; -1 until {@link from} is called (then every first event counts as a gap) */
  private last = -1
  private unsubscribe: (() => void) | null = null

  constructor(
    private readonly db: Db,
    readonly projectId: string,
    readonly userId: string,
    private readonly wake: { notify: () => void },
    private readonly alsoEnds?: { type: string, entityId: string },
  ) {}

  /** The project's seq when the stream started (read after subscribing). */
  from(seq: number): this {
    this.last = Math.max(this.last, seq)
    return this
  }

  get unsure(): boolean {
    return this.unsureAfter !== null
  }

  listen(bus: EventBus) {
    this.unsubscribe = bus.subscribe(this.projectId, event => this.seen(event))
  }

  close() {
    this.unsubscribe?.()
    this.unsubscribe = null
  }

  private ends(event: { type: string, entityId: string | null }) {
    return endsMembership(event, this.userId) || (!!this.alsoEnds && event.type === this.alsoEnds.type && event.entityId === this.alsoEnds.entityId)
  }

  private seen(event: ProjectEvent) {
    if (this.ended) return
    if (this.ends(event)) {
      this.ended = true
      this.wake.notify()
      return
    }
    if (this.retryAfter !== null || (this.last >= 0 && event.seq > this.last + 1)) {
      const after = Math.min(this.retryAfter ?? this.last, this.last)
      this.retryAfter = null
      this.unsureAfter = Math.min(this.unsureAfter ?? after, after)
      this.wake.notify()
    }
    if (event.seq > this.last) this.last = event.seq
  }

  /** Asks the log whether an event after the gap ended the stream (one indexed read). */
  async heal() {
    const after = this.unsureAfter
    if (after === null) return
    this.unsureAfter = null
    const ending = [{ type: { in: [...membershipEndingEvents] as string[] }, entityId: this.userId }]
    if (this.alsoEnds) ending.push({ type: { in: [this.alsoEnds.type] }, entityId: this.alsoEnds.entityId })
    try {
      const found = await this.db.projectEvent.findFirst({
        where: { projectId: this.projectId, seq: { gt: after }, OR: ending },
        select: { seq: true },
      })
      if (found) this.ended = true
    }
    catch (error) {
      // The database is away: ask again at the next event (the stream goes on meanwhile).
      this.retryAfter = after
      logger.warn('membership check after a bus gap failed', { projectId: this.projectId, message: (error as Error).message })
    }
  }
}
