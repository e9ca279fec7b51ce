import { tracked, type TrackedEnvelope } from '@trpc/server'
import { membershipEndingEvents, type EventWireVersion, type ProjectEvent, type ProjectEventOnWire } from '../../shared/events'
import { requireRole } from '../services/access'
import { DomainError } from '../services/errors'
import { readEvents } from '../services/events'
import type { Db } from '../utils/db'
import { freezeEvent, useEventBus, type EventBus } from './bus'
import { DirectSink, wireEventOf } from './fanout'
import { endsMembership, ResumableStream, type ResumableLimits, type ResumableSource } from './resumableStream'
import { readStreamStart } from './streamStart'

/** Live events held for a slow reader (past this the queue is dropped and refilled from the log); log rows read at a time. */
const LIMITS: ResumableLimits = { capacity: 5_000, batch: 500 }

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

/** A project's log as seen by one member: events as `tracked(String(seq), wireEvent)`, ending at their removal. */
class ProjectLog implements ResumableSource<ProjectEvent, TrackedEnvelope<ProjectEventOnWire>> {
  constructor(private readonly db: Db, private readonly projectId: string, private readonly userId: string, private readonly wire: EventWireVersion | null | undefined) {}
  seqOf(event: ProjectEvent) {
    return event.seq
  }

  async read(after: number, before: number | null, limit: number) {
    return (await readEvents(this.db, this.projectId, after, before, limit)).map(freezeEvent)
  }

  endsAfter(event: ProjectEvent) {
    return endsMembership(event, this.userId)
  }

  emit(event: ProjectEvent) {
    return tracked(String(event.seq), wireEventOf(event, this.wire))
  }
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
 * socket's gate attaches it to the project's fan-out set), hands the live queue to it and ends; the
 * socket's gate owns the subscription from then on (server/realtime/fanout.ts).
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

  const stream = new ResumableStream(new ProjectLog(db, projectId, userId, input.wire), LIMITS, signal)
  stream.listening(bus.subscribe(projectId, event => stream.push(event)))
  await stream.start(async () => {
    // Membership and the current seq in one read shared by the subscriptions starting together.
    const { eventSeq } = await readStreamStart(db, projectId, userId)
    // An id from the future (a restored database, another deployment) would wait silently forever.
    if (resumeFrom !== null && resumeFrom > eventSeq) {
      throw new DomainError('BAD_REQUEST', `lastEventId ${resumeFrom} is ahead of project ${projectId}, which is at ${eventSeq}: reload the project`)
    }
    return resumeFrom ?? eventSeq
  })
  return projectEvents(stream, projectId, userId, resumeFrom !== null, options.direct === true, input.wire)
}

/** `project.onEvent` generators running on this instance (tests: a handed-off subscription keeps none). */
export const projectStreamStats = { running: 0 }

async function* projectEvents(stream: ResumableStream<ProjectEvent, TrackedEnvelope<ProjectEventOnWire>>, projectId: string, userId: string, resume: boolean, direct: boolean, wire: EventWireVersion | null | undefined) {
  projectStreamStats.running++
  try {
    if (resume) yield* stream.backfill()
    if (direct && !stream.done) {
      const sink = new DirectSink(projectId, userId, stream.last, wire)
      yield sink as unknown as TrackedEnvelope<ProjectEventOnWire>
      // Stopped meanwhile (tRPC's loop still owned it): it leaves, and tRPC answers `stopped`.
      if (stream.done) {
        sink.detach()
        return
      }
      // The project's fan-out set delivers from now on and the socket's gate owns the subscription:
      // this generator ends (its `stopped` is not sent).
      if (sink.attached) {
        stream.handOff(sink)
        return
      }
      // Ended before the hand-off (its removal was sent): tRPC answers `stopped`.
      if (sink.ended) return
    }
    yield* stream.live()
  }
  finally {
    projectStreamStats.running--
    stream.close()
  }
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
