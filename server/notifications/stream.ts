import { tracked, type TrackedEnvelope } from '@trpc/server'
import type { NotificationStreamEvent } from '../../shared/schemas/notification'
import { DomainError } from '../services/errors'
import { LiveQueue } from '../realtime/liveQueue'
import type { Db } from '../utils/db'
import { countUnread, notificationSelect, toNotificationItem } from './inApp'
import { useUserBus, type UserBus } from './userBus'

const MAX_QUEUED = 1_000
const BACKFILL_BATCH = 200

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
  const queue = new LiveQueue<NotificationStreamEvent>(MAX_QUEUED)
  const unsubscribe = bus.subscribe(userId, event => queue.push(event))
  const release = () => {
    unsubscribe()
    queue.notify()
  }
  signal?.addEventListener('abort', release, { once: true })
  let start: number
  try {
    const settings = await db.notificationSettings.findUnique({ where: { userId }, select: { lastSeq: true } })
    const lastSeq = settings?.lastSeq ?? 0
    if (resumeFrom !== null && resumeFrom > lastSeq) {
      throw new DomainError('BAD_REQUEST', `lastEventId ${resumeFrom} is ahead of your notifications, which are at ${lastSeq}: reload them`)
    }
    start = resumeFrom ?? lastSeq
  }
  catch (error) {
    signal?.removeEventListener('abort', release)
    unsubscribe()
    throw error
  }

  async function* stream() {
    let last = start
    async function* fromDb(before: number | null) {
      for (;;) {
        const rows = await db.notification.findMany({
          where: { userId, seq: before === null ? { gt: last } : { gt: last, lt: before } },
          orderBy: { seq: 'asc' },
          take: BACKFILL_BATCH,
          select: notificationSelect,
        })
        if (!rows.length) return
        const unreadCount = await countUnread(db, userId)
        for (const row of rows) {
          if (signal?.aborted) return
          last = row.seq
          yield tracked(String(row.seq), { kind: 'notification', notification: toNotificationItem(row), unreadCount } satisfies NotificationStreamEvent)
        }
        if (rows.length < BACKFILL_BATCH) return
      }
    }

    try {
      if (resumeFrom !== null) yield* fromDb(null)
      while (!signal?.aborted) {
        const live = await queue.take(signal)
        if (queue.overflowed) {
          queue.overflowed = false
          yield* fromDb(null)
          continue
        }
        for (const event of live) {
          if (signal?.aborted) break
          if (event.kind === 'state') {
            yield tracked(String(last), event)
            continue
          }
          const seq = event.notification.seq
          if (seq <= last) continue
          if (seq > last + 1) yield* fromDb(seq)
          if (signal?.aborted) break
          last = seq
          yield tracked(String(seq), event)
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
