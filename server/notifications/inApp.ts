import { immediateNotificationTypes, type NotificationData, type NotificationItem, type NotificationType } from '../../shared/schemas/notification'
import type { Prisma } from '../generated/prisma/client'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { logger } from '../utils/logger'
import type { Delivery, NotificationChannel } from './channels'
import { useUserBus } from './userBus'

/** Limits of the in-app channel; tests shrink them. */
export const inAppLimits = {
  /** repeated notifications of one type for one recipient and task merge within this window (from the first) */
  coalesceMs: 2 * 60_000,
  /** more new notifications than this per minute fold into one summary */
  perMinute: 20,
  capWindowMs: 60_000,
}

export const notificationSelect = {
  id: true,
  seq: true,
  type: true,
  projectId: true,
  taskId: true,
  count: true,
  actorIds: true,
  latestActor: { select: { id: true, username: true, name: true } },
  data: true,
  silent: true,
  readAt: true,
  archivedAt: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.NotificationSelect

type NotificationRow = Prisma.NotificationGetPayload<{ select: typeof notificationSelect }>

export function toNotificationItem(row: NotificationRow): NotificationItem {
  const { actorIds, ...rest } = row
  return { ...rest, type: row.type as NotificationType, actorCount: actorIds.length, data: (row.data ?? {}) as NotificationData }
}

/** Takes the user's notification row lock and hands out the next seq (creating the row on first use). */
export async function nextSeq(tx: DbTx, userId: string): Promise<number> {
  const { lastSeq } = await tx.notificationSettings.upsert({
    where: { userId },
    create: { userId, lastSeq: 1 },
    update: { lastSeq: { increment: 1 } },
    select: { lastSeq: true },
  })
  return lastSeq
}

export async function countUnread(db: DbTx, userId: string): Promise<number> {
  return db.notification.count({ where: { userId, readAt: null, archivedAt: null } })
}

function mergeData(first: NotificationData, next: NotificationData): NotificationData {
  // Keep where it started (the first `from`), show where it is now (the latest values).
  return { ...first, ...next, from: first.from !== undefined ? first.from : next.from }
}

/** Stores one delivery (merging or folding as the rules say); returns the row as it is now. */
async function store(tx: DbTx, d: Delivery): Promise<NotificationRow> {
  const seq = await nextSeq(tx, d.recipientId)
  const at = d.at
  const actorIds = d.actorId ? [d.actorId] : []

  if (!immediateNotificationTypes.includes(d.type) && d.taskId) {
    const open = await tx.notification.findFirst({
      where: {
        userId: d.recipientId,
        type: d.type,
        taskId: d.taskId,
        readAt: null,
        archivedAt: null,
        createdAt: { gte: new Date(at.getTime() - inAppLimits.coalesceMs) },
      },
      orderBy: { createdAt: 'desc' },
      select: { id: true, actorIds: true, data: true },
    })
    if (open) {
      return tx.notification.update({
        where: { id: open.id },
        data: {
          seq,
          count: { increment: 1 },
          actorIds: d.actorId && !open.actorIds.includes(d.actorId) ? [...open.actorIds, d.actorId] : open.actorIds,
          latestActorId: d.actorId ?? undefined,
          data: mergeData(open.data as NotificationData, d.data) as Prisma.InputJsonObject,
          silent: d.silent,
          updatedAt: at,
        },
        select: notificationSelect,
      })
    }
  }

  if (!immediateNotificationTypes.includes(d.type)) {
    const since = new Date(at.getTime() - inAppLimits.capWindowMs)
    const recent = await tx.notification.count({ where: { userId: d.recipientId, type: { not: 'summary' }, createdAt: { gte: since } } })
    if (recent >= inAppLimits.perMinute) {
      // A flood: fold into one summary, kept open while the flood goes on.
      const summary = await tx.notification.findFirst({
        where: { userId: d.recipientId, type: 'summary', readAt: null, archivedAt: null, updatedAt: { gte: since } },
        orderBy: { updatedAt: 'desc' },
        select: { id: true, count: true },
      })
      if (summary) {
        return tx.notification.update({
          where: { id: summary.id },
          data: { seq, count: { increment: 1 }, data: { folded: summary.count + 1 }, silent: d.silent, updatedAt: at },
          select: notificationSelect,
        })
      }
      return tx.notification.create({
        data: { id: newId(), userId: d.recipientId, seq, type: 'summary', count: 1, data: { folded: 1 }, silent: d.silent, createdAt: at, updatedAt: at },
        select: notificationSelect,
      })
    }
  }

  return tx.notification.create({
    data: {
      id: newId(),
      userId: d.recipientId,
      seq,
      type: d.type,
      projectId: d.projectId,
      taskId: d.taskId,
      actorIds,
      latestActorId: d.actorId,
      data: d.data as Prisma.InputJsonObject,
      silent: d.silent,
      createdAt: at,
      updatedAt: at,
    },
    select: notificationSelect,
  })
}

/** Persisted, merged, capped, then pushed over the user's `notification.onEvent` streams. */
export const inAppChannel: NotificationChannel = {
  name: 'inApp',
  async deliver(db: Db, deliveries: Delivery[]) {
    for (const d of deliveries) {
      try {
        const { row, unreadCount } = await db.$transaction(async (tx) => {
          const row = await store(tx, d)
          return { row, unreadCount: await countUnread(tx, d.recipientId) }
        })
        useUserBus().publish(d.recipientId, { kind: 'notification', notification: toNotificationItem(row), unreadCount })
      }
      catch (error) {
        logger.error('storing a notification failed', { userId: d.recipientId, type: d.type, message: (error as Error).message })
      }
    }
  },
}
