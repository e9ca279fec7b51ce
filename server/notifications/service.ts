import {
  configurableNotificationTypes,
  defaultPreference,
  notificationChannelValues,
  type MuteInput,
  type NotificationChannelName,
  type NotificationItem,
  type NotificationListInput,
  type NotificationPreferencesUpdateInput,
  type NotificationType,
} from '../../shared/schemas/notification'
import type { Prisma } from '../generated/prisma/client'
import { checkRole, memberRole, requireRole } from '../services/access'
import { DomainError, notFound } from '../services/errors'
import type { Db } from '../utils/db'
import { newId } from '../utils/ids'
import { notificationNow } from './clock'
import { countUnread, notificationSelect, toNotificationItem } from './inApp'
import { useUserBus } from './userBus'

export async function listNotifications(db: Db, userId: string, input: NotificationListInput): Promise<{ items: NotificationItem[], nextCursor: number | null }> {
  const where: Prisma.NotificationWhereInput = { userId, archivedAt: input.archived ? { not: null } : null }
  if (input.unread) where.readAt = null
  if (input.type) where.type = input.type
  if (input.projectId) where.projectId = input.projectId
  if (input.cursor) where.seq = { lt: input.cursor }
  // seq moves forward whenever a notification changes, so newest-first by seq is "most recent activity first".
  const rows = await db.notification.findMany({ where, orderBy: { seq: 'desc' }, take: input.limit + 1, select: notificationSelect })
  const more = rows.length > input.limit
  const items = rows.slice(0, input.limit).map(toNotificationItem)
  return { items, nextCursor: more ? items.at(-1)!.seq : null }
}

/** The badge, and the newest seq: a client subscribes from it so nothing between this read and the stream is missed. */
export async function unreadCount(db: Db, userId: string): Promise<{ count: number, lastSeq: number }> {
  const [count, settings] = await Promise.all([
    countUnread(db, userId),
    db.notificationSettings.findUnique({ where: { userId }, select: { lastSeq: true } }),
  ])
  return { count, lastSeq: settings?.lastSeq ?? 0 }
}

export async function markRead(db: Db, userId: string, ids: string[], read: boolean) {
  const { count } = await db.notification.updateMany({
    where: { userId, id: { in: ids }, ...(read ? { readAt: null } : { readAt: { not: null } }) },
    data: { readAt: read ? notificationNow() : null },
  })
  const unread = await countUnread(db, userId)
  useUserBus().publish(userId, { kind: 'state', ids, read, unreadCount: unread })
  return { updated: count, unreadCount: unread }
}

/**
 * Opening a task reads what it was about: every unread notification of that task. A task the user
 * cannot see is NOT_FOUND, like watch / watchStatus (not "0 updated", which would tell it exists).
 */
export async function markTaskRead(db: Db, userId: string, taskId: string) {
  await taskProject(db, userId, taskId)
  const rows = await db.notification.findMany({ where: { userId, taskId, readAt: null, archivedAt: null }, select: { id: true } })
  if (!rows.length) return { updated: 0, unreadCount: await countUnread(db, userId) }
  return markRead(db, userId, rows.map(r => r.id), true)
}

export async function markAllRead(db: Db, userId: string) {
  const { count } = await db.notification.updateMany({ where: { userId, readAt: null, archivedAt: null }, data: { readAt: notificationNow() } })
  useUserBus().publish(userId, { kind: 'state', ids: 'all', read: true, unreadCount: 0 })
  return { updated: count, unreadCount: 0 }
}

export async function archive(db: Db, userId: string, ids: string[], archived: boolean) {
  const { count } = await db.notification.updateMany({
    where: { userId, id: { in: ids } },
    data: { archivedAt: archived ? notificationNow() : null },
  })
  const unread = await countUnread(db, userId)
  useUserBus().publish(userId, { kind: 'state', ids, archived, unreadCount: unread })
  return { updated: count, unreadCount: unread }
}

// --- preferences -----------------------------------------------------------------------------

export interface PreferenceMatrix {
  /** every configurable type × channel, with the user's choice or the default */
  preferences: { type: Exclude<NotificationType, 'summary'>, channel: NotificationChannelName, enabled: boolean, isDefault: boolean }[]
  sound: boolean
}

export async function getPreferences(db: Db, userId: string): Promise<PreferenceMatrix> {
  const [rows, settings] = await Promise.all([
    db.notificationPreference.findMany({ where: { userId } }),
    db.notificationSettings.findUnique({ where: { userId }, select: { sound: true } }),
  ])
  const chosen = new Map(rows.map(r => [`${r.type}:${r.channel}`, r.enabled]))
  const preferences = configurableNotificationTypes.flatMap(type => notificationChannelValues.map((channel) => {
    const mine = chosen.get(`${type}:${channel}`)
    return { type, channel, enabled: mine ?? defaultPreference(type, channel), isDefault: mine === undefined }
  }))
  return { preferences, sound: settings?.sound ?? true }
}

export async function updatePreferences(db: Db, userId: string, input: NotificationPreferencesUpdateInput): Promise<PreferenceMatrix> {
  await db.$transaction(async (tx) => {
    for (const p of input.preferences) {
      await tx.notificationPreference.upsert({
        where: { userId_type_channel: { userId, type: p.type, channel: p.channel } },
        create: { userId, type: p.type, channel: p.channel, enabled: p.enabled },
        update: { enabled: p.enabled },
      })
    }
    if (input.sound !== undefined) {
      await tx.notificationSettings.upsert({
        where: { userId },
        create: { userId, sound: input.sound },
        update: { sound: input.sound, updatedAt: new Date() },
      })
    }
  })
  return getPreferences(db, userId)
}

// --- mutes -----------------------------------------------------------------------------------

const muteSelect = {
  id: true,
  projectId: true,
  taskId: true,
  until: true,
  createdAt: true,
  project: { select: { id: true, name: true } },
  task: { select: { id: true, title: true, number: true, projectId: true } },
} as const satisfies Prisma.MuteSelect

/** Active mutes (expired ones are left out). */
export async function listMutes(db: Db, userId: string) {
  return db.mute.findMany({
    where: { userId, OR: [{ until: null }, { until: { gt: notificationNow() } }] },
    select: muteSelect,
    orderBy: { createdAt: 'desc' },
  })
}

/** The project of a task the user can see (NOT_FOUND otherwise, like every other task call). */
async function taskProject(db: Db, userId: string, taskId: string): Promise<string> {
  const task = await db.task.findUnique({ where: { id: taskId }, select: { projectId: true, deletedAt: true } })
  if (!task || task.deletedAt) throw notFound('Task', taskId)
  checkRole(await memberRole(db, task.projectId, userId), undefined, { what: 'Task', id: taskId })
  return task.projectId
}

/** Mutes a project or a task; muting the same thing again replaces its end time. */
export async function mute(db: Db, userId: string, input: MuteInput) {
  if (input.projectId) await requireRole(db, input.projectId, userId)
  if (input.taskId) await taskProject(db, userId, input.taskId)
  if (input.until && input.until.getTime() <= notificationNow().getTime()) {
    throw new DomainError('BAD_REQUEST', 'The end of a mute must be in the future', { field: 'until' })
  }
  const target = input.projectId ? { projectId: input.projectId } : { taskId: input.taskId! }
  return db.$transaction(async (tx) => {
    await tx.mute.deleteMany({ where: { userId, ...target } })
    return tx.mute.create({ data: { id: newId(), userId, ...target, until: input.until ?? null }, select: muteSelect })
  })
}

export async function unmute(db: Db, userId: string, id: string) {
  const { count } = await db.mute.deleteMany({ where: { id, userId } })
  if (!count) throw notFound('Mute', id)
  return { id }
}

// --- watching --------------------------------------------------------------------------------

export async function setWatching(db: Db, userId: string, taskId: string, watching: boolean) {
  await taskProject(db, userId, taskId)
  await db.taskWatch.upsert({
    where: { taskId_userId: { taskId, userId } },
    create: { taskId, userId, watching },
    update: { watching },
  })
  return watchStatus(db, userId, taskId)
}

/** Whether the user follows a task, and why (the Watch button's state). */
export async function watchStatus(db: Db, userId: string, taskId: string) {
  await taskProject(db, userId, taskId)
  const [task, watch, commented] = await Promise.all([
    db.task.findUniqueOrThrow({ where: { id: taskId }, select: { assigneeId: true, createdById: true } }),
    db.taskWatch.findUnique({ where: { taskId_userId: { taskId, userId } }, select: { watching: true } }),
    db.comment.count({ where: { taskId, authorId: userId, deletedAt: null } }),
  ])
  const assignee = task.assigneeId === userId
  const implicit = task.createdById === userId || commented > 0
  const watching = assignee || (watch ? watch.watching : implicit)
  const reason = assignee ? 'assignee' : watch ? (watch.watching ? 'watching' : 'unwatched') : implicit ? 'participant' : 'none'
  return { taskId, watching, reason: reason as 'assignee' | 'watching' | 'unwatched' | 'participant' | 'none' }
}
