import { tracked, type TrackedEnvelope } from '@trpc/server'
import type { NotificationStreamEvent } from '../../shared/schemas/notification'
import { DomainError } from '../services/errors'
import { ResumableStream, type ResumableLimits, type ResumableSource } from '../realtime/resumableStream'
import type { Db } from '../utils/db'
import { countUnread, notificationSelect, toNotificationItem } from './inApp'
import { useUserBus, type UserBus } from './userBus'

const LIMITS: ResumableLimits = { capacity: 1_000, batch: 200 }

/** A user's notifications table as a log: rows by their per-user seq, each as the stream sends it. */
class NotificationLog implements ResumableSource<NotificationStreamEvent, TrackedEnvelope<NotificationStreamEvent>> {
  constructor(private readonly db: Db, private readonly userId: string) {}
  /** Read-state changes made elsewhere (`kind: 'state'`) are outside the seq: they carry the newest seq sent so far. */
  seqOf(event: NotificationStreamEvent) {
    return event.kind === 'notification' ? event.notification.seq : null
  }

  async read(after: number, before: number | null, limit: number): Promise<NotificationStreamEvent[]> {
    const rows = await this.db.notification.findMany({
      where: { userId: this.userId, seq: before === null ? { gt: after } : { gt: after, lt: before } },
      orderBy: { seq: 'asc' },
      take: limit,
      select: notificationSelect,
    })
    if (!rows.length) return []
    const unreadCount = await countUnread(this.db, this.userId)
    return rows.map((row): NotificationStreamEvent => ({ kind: 'notification', notification: toNotificationItem(row), unreadCount }))
  }

  endsAfter() {
    return false
  }

  emit(event: NotificationStreamEvent, last: number) {
    return tracked(String(last), event)
  }
}

function parseSeq(lastEventId: string): number {
  if (!/^\d{1,15}$/.test(lastEventId)) throw new DomainError('BAD_REQUEST', `lastEventId ${lastEventId} is not a notification seq`)
  return Number(lastEventId)
}

/**
 * The signed-in user's notifications as `tracked(String(seq), event)`: with `lastEventId`, every
 * notification created or changed after it is read from the database first (a merged notification
 * comes once, in its current state), then the stream goes on live from the user bus. Subscribes to
 * the bus before reading, drops what it already sent (seq ≤ last), and reads a skipped range from
 * the database before a live item that jumps ahead (the bus may lose messages; the table does not).
 * Read-state changes made elsewhere (`kind: 'state'`) carry the newest seq sent so far.
 */
export async function openNotificationStream(
  db: Db,
  userId: string,
  input: { lastEventId?: string | null },
  signal: AbortSignal | undefined,
  bus: UserBus = useUserBus(),
): Promise<AsyncGenerator<TrackedEnvelope<NotificationStreamEvent>, void, unknown>> {
  const resumeFrom = input.lastEventId == null ? null : parseSeq(input.lastEventId)
  const stream = new ResumableStream(new NotificationLog(db, userId), LIMITS, signal)
  stream.listening(bus.subscribe(userId, event => stream.push(event)))
  await stream.start(async () => {
    const settings = await db.notificationSettings.findUnique({ where: { userId }, select: { lastSeq: true } })
    const lastSeq = settings?.lastSeq ?? 0
    if (resumeFrom !== null && resumeFrom > lastSeq) {
      throw new DomainError('BAD_REQUEST', `lastEventId ${resumeFrom} is ahead of your notifications, which are at ${lastSeq}: reload them`)
    }
    return resumeFrom ?? lastSeq
  })
  return notifications(stream, resumeFrom !== null)
}

async function* notifications(stream: ResumableStream<NotificationStreamEvent, TrackedEnvelope<NotificationStreamEvent>>, resume: boolean) {
  try {
    if (resume) yield* stream.backfill()
    yield* stream.live()
  }
  finally {
    stream.close()
  }
}

export interface NotificationEventsPage {
  /** `{ id, data }` as the stream's `tracked` envelopes arrive on the client: id = String(seq) */
  events: { id: string, data: NotificationStreamEvent }[]
  /** the badge now: read-state changes made elsewhere are not in the table's seqs, so polling gets it each time */
  unreadCount: number
  /** more notifications follow: ask again at once from the last id */
  more: boolean
}

/**
 * The polling fallback of {@link openNotificationStream}: the notifications created or changed after
 * `lastEventId` (a per-user seq, the same resume id), oldest first, at most `limit`, each as the
 * stream would have sent it.
 */
export async function notificationEventsSince(db: Db, userId: string, input: { lastEventId: string, limit: number }): Promise<NotificationEventsPage> {
  const after = parseSeq(input.lastEventId)
  const settings = await db.notificationSettings.findUnique({ where: { userId }, select: { lastSeq: true } })
  const lastSeq = settings?.lastSeq ?? 0
  if (after > lastSeq) {
    throw new DomainError('BAD_REQUEST', `lastEventId ${after} is ahead of your notifications, which are at ${lastSeq}: reload them`)
  }
  const rows = await db.notification.findMany({
    where: { userId, seq: { gt: after } },
    orderBy: { seq: 'asc' },
    take: input.limit + 1,
    select: notificationSelect,
  })
  const unreadCount = await countUnread(db, userId)
  const events = rows.slice(0, input.limit).map(row => ({
    id: String(row.seq),
    data: { kind: 'notification', notification: toNotificationItem(row), unreadCount } satisfies NotificationStreamEvent as NotificationStreamEvent,
  }))
  return { events, unreadCount, more: rows.length > input.limit }
}
