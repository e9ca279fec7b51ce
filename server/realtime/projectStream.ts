import { tracked, type TrackedEnvelope } from '@trpc/server'
import { membershipEndingEvents, type EventWireVersion, type ProjectEvent, type ProjectEventOnWire } from '../../shared/events'
import { requireRole } from '../services/access'
import { DomainError } from '../services/errors'
import { readEvents } from '../services/events'
import type { Db } from '../utils/db'
import { freezeEvent, useEventBus, type EventBus } from './bus'
import { DirectSink, wireEventOf } from './fanout'
import { LiveQueue } from './liveQueue'
import { readStreamStart } from './streamStart'

/** Live events waiting for a slow reader; past this the queue is dropped and refilled from the log. */
const MAX_QUEUED = 5_000
const BACKFILL_BATCH = 500

export interface ProjectStreamInput {
  projectId: string
  /** the last seq the client has (a `tracked` id); absent or null = only what happens from now */
  lastEventId?: string | null
  /** 2 = the compact wire form (shared/events.ts `ProjectEventCompact`); absent = the named form */
  wire?: EventWireVersion | null
}

export interface ProjectStreamOptions {
  /**
   * Hand live delivery to the direct fan-out (server/realtime/fanout.ts) once caught up. Only for
   * subscriptions served by our WebSocket handler, whose send gate understands the yielded sink.
   */
  direct?: boolean
  bus?: EventBus
}

function parseSeq(lastEventId: string): number {
  if (!/^\d{1,15}$/.test(lastEventId)) throw new DomainError('BAD_REQUEST', `lastEventId ${lastEventId} is not an event seq`)
  return Number(lastEventId)
}

/**
 * Opens a member's stream of a project's events: gap-free, in seq order, as
 * `tracked(String(seq), wireEvent)` (plain JSON, long texts without their previous value: see
 * `ProjectEventWire` in shared/events.ts). Rejects a non-member with NOT_FOUND before anything is streamed, so
 * the error reaches the client as the subscription's answer.
 *
 * Subscribes to the bus before checking membership and reading the log, so nothing committed in
 * between is missed; events seen twice (log and bus) are dropped by seq; a live event that skips ahead
 * first has the missing range read from the log (the bus may lose messages, the log never does).
 * The stream ends when `signal` aborts, or after yielding the event that removes the subscriber from
 * the project (member.removed / member.left about them).
 *
 * With `direct`, once the backlog is sent the generator yields a `DirectSink` (never sent: the
 * socket's gate attaches it to the project's fan-out set) and supervises it: it fills gaps from the
 * log and ends the stream when the sink says so.
 */
export async function openProjectEventStream(
  db: Db,
  userId: string,
  input: ProjectStreamInput,
  signal: AbortSignal | undefined,
  options: ProjectStreamOptions = {},
): Promise<AsyncGenerator<TrackedEnvelope<ProjectEventOnWire>, void, unknown>> {
  const bus = options.bus ?? useEventBus()
  const { projectId } = input
  const resumeFrom = input.lastEventId == null ? null : parseSeq(input.lastEventId)

  const queue = new LiveQueue<ProjectEvent>(MAX_QUEUED)
  const unsubscribe = bus.subscribe(projectId, event => queue.push(event))
  // A stream that is aborted before its first read never runs its `finally`: release here too.
  const release = () => {
    unsubscribe()
    queue.notify()
  }
  signal?.addEventListener('abort', release, { once: true })
  let start: number
  try {
    // Membership and the current seq in one read shared by the subscriptions starting together.
    const { eventSeq } = await readStreamStart(db, projectId, userId)
    // An id from the future (a restored database, another deployment) would wait silently forever.
    if (resumeFrom !== null && resumeFrom > eventSeq) {
      throw new DomainError('BAD_REQUEST', `lastEventId ${resumeFrom} is ahead of project ${projectId}, which is at ${eventSeq}: reload the project`)
    }
    start = resumeFrom ?? eventSeq
  }
  catch (error) {
    signal?.removeEventListener('abort', release)
    unsubscribe()
    throw error
  }

  async function* stream() {
    let last = start
    let ended = false
    const emit = (event: ProjectEvent) => {
      last = event.seq
      if ((membershipEndingEvents as readonly string[]).includes(event.type) && event.entityId === userId) ended = true
      return tracked(String(event.seq), wireEventOf(event, input.wire))
    }
    /** Everything in the log after `last` and before `before` (null: up to the newest). */
    async function* fromLog(before: number | null) {
      for (;;) {
        const batch = await readEvents(db, projectId, last, before, BACKFILL_BATCH)
        for (const event of batch) {
          if (signal?.aborted) return
          yield emit(freezeEvent(event))
          if (ended) return
        }
        if (batch.length < BACKFILL_BATCH) return
      }
    }

    /** Sends the log after the sink's last seq, then what arrived meanwhile, until nothing is missing. */
    async function heal(sink: DirectSink) {
      for (;;) {
        for (;;) {
          const batch = await readEvents(db, projectId, sink.last, null, BACKFILL_BATCH)
          for (const event of batch) {
            if (signal?.aborted || sink.ended) return
            sink.write(freezeEvent(event))
          }
          if (batch.length < BACKFILL_BATCH) break
        }
        const pending = sink.pending.sort((a, b) => a.seq - b.seq)
        sink.pending = []
        let gap = false
        for (const event of pending) {
          if (event.seq <= sink.last) continue
          if (event.seq > sink.last + 1) {
            gap = true
            break
          }
          sink.write(event)
        }
        if (!gap || sink.ended || signal?.aborted) {
          sink.stalled = false
          return
        }
      }
    }

    try {
      if (resumeFrom !== null) yield* fromLog(null)
      if (options.direct && !ended && !signal?.aborted) {
        const sink = new DirectSink(projectId, userId, last, input.wire)
        yield sink as unknown as TrackedEnvelope<ProjectEventOnWire>
        if (sink.attached) {
          // The project's fan-out set delivers from now on; hand over what this stream still holds.
          unsubscribe()
          if (queue.overflowed) sink.requestHeal()
          for (const event of queue.drain()) sink.deliver(event)
          try {
            for (;;) {
              const wake = await sink.next(signal)
              if (wake !== 'stalled') return
              await heal(sink)
              if (sink.ended) return
            }
          }
          finally {
            sink.detach()
          }
        }
      }
      while (!ended && !signal?.aborted) {
        const live = await queue.take(signal)
        if (queue.overflowed) {
          queue.overflowed = false
          yield* fromLog(null)
          continue
        }
        for (const event of live) {
          if (ended || signal?.aborted) break
          if (event.seq <= last) continue
          if (event.seq > last + 1) yield* fromLog(event.seq)
          if (ended || signal?.aborted) break
          yield emit(event)
        }
      }
    }
    finally {
      signal?.removeEventListener('abort', release)
      unsubscribe()
    }
  }
  return stream()
}

export interface ProjectEventsPage {
  /** `{ id, data }` as the stream's `tracked` envelopes arrive on the client: id = String(seq) */
  events: { id: string, data: ProjectEvent }[]
  /** more events follow: ask again at once from the last id */
  more: boolean
}

/**
 * The polling fallback of {@link openProjectEventStream}: the events after `lastEventId` (a seq, the
 * same resume id), oldest first, at most `limit`. A member gets the log; someone removed from the
 * project since `lastEventId` still gets it up to the event that removed them (so the client learns
 * why), and NOT_FOUND after that, as any non-member.
 */
export async function projectEventsSince(
  db: Db,
  userId: string,
  input: { projectId: string, lastEventId: string, limit: number },
): Promise<ProjectEventsPage> {
  const { projectId, limit } = input
  const after = parseSeq(input.lastEventId)
  let upTo: number | null = null
  try {
    await requireRole(db, projectId, userId)
  }
  catch (error) {
    const removal = await db.projectEvent.findFirst({
      where: { projectId, seq: { gt: after }, entityId: userId, type: { in: [...membershipEndingEvents] } },
      orderBy: { seq: 'asc' },
      select: { seq: true },
    })
    if (!removal) throw error
    upTo = removal.seq
  }
  const { eventSeq } = await db.project.findUniqueOrThrow({ where: { id: projectId }, select: { eventSeq: true } })
  if (after > eventSeq) {
    throw new DomainError('BAD_REQUEST', `lastEventId ${after} is ahead of project ${projectId}, which is at ${eventSeq}: reload the project`)
  }
  const rows = await readEvents(db, projectId, after, upTo === null ? null : upTo + 1, limit + 1)
  return { events: rows.slice(0, limit).map(event => ({ id: String(event.seq), data: event })), more: rows.length > limit }
}
