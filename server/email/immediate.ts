// Immediate emails: the notifier hands the email channel the deliveries whose type the recipient
// wants by email; each waits EMAIL_NOTIFY_DELAY_SECONDS in EmailPending and is emailed only if its
// in-app notification is still unread then, one email per task, with mutes, preferences and
// do-not-disturb checked again at that moment.
import {
  defaultPreference,
  notificationLink,
  notificationText,
  type NotificationData,
  type NotificationType,
} from '../../shared/schemas/notification'
import type { NotificationChannel } from '../notifications/channels'
import { usersInDnd } from '../notifications/notifier'
import type { Db } from '../utils/db'
import { newId } from '../utils/ids'
import { logger } from '../utils/logger'
import { enqueueEmail } from './outbox'
import { renderEmail } from './templates'
import { unsubscribeHeaders, unsubscribeSigner, unsubscribeUrl } from './unsubscribe'

export interface ImmediateConfig {
  delayMs: number
  origin: string
  /** called once rows are waiting, so the mailer looks at them without waiting for its next poll */
  onQueued?: () => void
}

/** How long a user in do-not-disturb has their emails held before the next look. */
export const DND_RECHECK_MS = 60_000

/** The email channel: parks each delivery until its delay has passed (see processDueNotificationEmails). */
export function createEmailChannel(config: () => ImmediateConfig): NotificationChannel {
  return {
    name: 'email',
    async deliver(db, deliveries) {
      const { delayMs, onQueued } = config()
      const rows = []
      for (const d of deliveries) {
        // The in-app channel ran first (channels deliver in registration order): find what it stored.
        const inApp = await db.notification.findFirst({
          where: { userId: d.recipientId, type: d.type, taskId: d.taskId, projectId: d.projectId, updatedAt: d.at },
          select: { id: true },
          orderBy: { seq: 'desc' },
        })
        rows.push({
          id: newId(),
          userId: d.recipientId,
          type: d.type,
          projectId: d.projectId,
          taskId: d.taskId,
          actorId: d.actorId,
          notificationId: inApp?.id ?? null,
          data: d.data as object,
          at: d.at,
          dueAt: new Date(d.at.getTime() + delayMs),
        })
      }
      if (rows.length) await db.emailPending.createMany({ data: rows })
      onQueued?.()
    },
  }
}

interface PendingRow {
  id: string
  userId: string
  type: string
  projectId: string | null
  taskId: string | null
  actorId: string | null
  notificationId: string | null
  data: NotificationData
  at: Date
}

/**
 * Turns due pending notifications into queued emails. Rows are taken with DELETE … RETURNING in the
 * transaction that queues their email, so two instances never email the same notification and a
 * crash before the commit leaves them pending. Returns the number of emails queued.
 */
export async function processDueNotificationEmails(db: Db, config: Pick<ImmediateConfig, 'origin'>, now: Date = new Date(), limit = 200): Promise<number> {
  const users = await db.$queryRawUnsafe<{ userId: string }[]>(
    'SELECT DISTINCT "userId" FROM "EmailPending" WHERE "dueAt" <= $1 LIMIT $2',
    now,
    limit,
  )
  if (!users.length) return 0
  const dnd = await usersInDnd(db, users.map(u => u.userId))
  let queued = 0
  for (const { userId } of users) {
    try {
      if (dnd.has(userId)) {
        // Held, not dropped: looked at again after do-not-disturb ends.
        await db.emailPending.updateMany({ where: { userId, dueAt: { lte: now } }, data: { dueAt: new Date(now.getTime() + DND_RECHECK_MS) } })
        continue
      }
      queued += await emailUser(db, userId, config.origin, now)
    }
    catch (error) {
      logger.error('queuing notification emails failed', { userId, message: (error as Error).message })
    }
  }
  return queued
}

async function emailUser(db: Db, userId: string, origin: string, now: Date): Promise<number> {
  const signer = await unsubscribeSigner(db)
  return db.$transaction(async (tx) => {
    // Everything pending for a task with something due: one email per task, whatever waited for it.
    const rows = await tx.$queryRawUnsafe<PendingRow[]>(
      `DELETE FROM "EmailPending" p
       WHERE p."userId" = $1 AND EXISTS (
         SELECT 1 FROM "EmailPending" q
         WHERE q."userId" = $1 AND q."dueAt" <= $2
           AND q."taskId" IS NOT DISTINCT FROM p."taskId" AND q."projectId" IS NOT DISTINCT FROM p."projectId")
       RETURNING p."id", p."userId", p."type", p."projectId", p."taskId", p."actorId", p."notificationId", p."data", p."at"`,
      userId,
      now,
    )
    if (!rows.length) return 0
    const user = await tx.user.findUnique({ where: { id: userId }, select: { email: true, name: true } })
    if (!user) return 0

    const notificationIds = rows.map(r => r.notificationId).filter((id): id is string => Boolean(id))
    const projectIds = [...new Set(rows.map(r => r.projectId).filter((id): id is string => Boolean(id)))]
    const taskIds = [...new Set(rows.map(r => r.taskId).filter((id): id is string => Boolean(id)))]
    const [notifications, mutes, prefs, memberships, tasks, actors] = await Promise.all([
      tx.notification.findMany({ where: { id: { in: notificationIds } }, select: { id: true, readAt: true, archivedAt: true } }),
      tx.mute.findMany({
        where: { userId, OR: [{ projectId: { in: projectIds } }, { taskId: { in: taskIds } }], AND: [{ OR: [{ until: null }, { until: { gt: now } }] }] },
        select: { projectId: true, taskId: true },
      }),
      tx.notificationPreference.findMany({ where: { userId, channel: 'email' }, select: { type: true, enabled: true } }),
      tx.projectMember.findMany({ where: { userId, projectId: { in: projectIds } }, select: { projectId: true } }),
      tx.task.findMany({ where: { id: { in: taskIds } }, select: { id: true, deletedAt: true } }),
      tx.user.findMany({ where: { id: { in: [...new Set(rows.map(r => r.actorId).filter((id): id is string => Boolean(id)))] } }, select: { id: true, username: true, name: true } }),
    ])
    const seen = new Set(notifications.filter(n => n.readAt || n.archivedAt).map(n => n.id))
    const stored = new Set(notifications.map(n => n.id))
    const mutedProjects = new Set(mutes.map(m => m.projectId).filter(Boolean))
    const mutedTasks = new Set(mutes.map(m => m.taskId).filter(Boolean))
    const emailPref = new Map(prefs.map(p => [p.type, p.enabled]))
    const member = new Set(memberships.map(m => m.projectId))
    const liveTasks = new Set(tasks.filter(t => !t.deletedAt).map(t => t.id))
    const actorById = new Map(actors.map(a => [a.id, a]))

    const wanted = rows.filter((r) => {
      // Read (or archived, or gone with its task) in the app meanwhile: they already know.
      if (r.notificationId && (seen.has(r.notificationId) || !stored.has(r.notificationId))) return false
      if ((r.projectId && mutedProjects.has(r.projectId)) || (r.taskId && mutedTasks.has(r.taskId))) return false
      if (!(emailPref.get(r.type) ?? defaultPreference(r.type as NotificationType, 'email'))) return false
      if (r.taskId && !liveTasks.has(r.taskId)) return false
      // Removed from the project meanwhile: only the notice of that removal still concerns them.
      if (r.projectId && !member.has(r.projectId) && !(r.type === 'member_removed' && r.data.memberIsYou)) return false
      return true
    })

    const groups = new Map<string, PendingRow[]>()
    for (const r of wanted.sort((a, b) => a.at.getTime() - b.at.getTime())) {
      const key = `${r.projectId ?? ''}:${r.taskId ?? r.id}`
      groups.set(key, [...(groups.get(key) ?? []), r])
    }
    for (const group of groups.values()) {
      const types = [...new Set(group.map(r => r.type))]
      const token = signer.token(userId, `notify:${types.join(',')}`)
      const lines = group.map((r) => {
        const item = {
          type: r.type as NotificationType,
          latestActor: r.actorId ? actorById.get(r.actorId) ?? null : null,
          actorCount: r.actorId ? 1 : 0,
          count: 1,
          data: r.data,
          projectId: r.projectId,
          taskId: r.taskId,
        }
        const link = notificationLink(item)
        return { text: notificationText(item), url: link ? `${origin}${link}` : null }
      })
      const first = group[0]!
      const taskName = first.data.taskTitle ? `${first.data.projectKey ? `${first.data.projectKey}-${first.data.taskNumber} ` : ''}${first.data.taskTitle}` : first.data.projectName ?? 'TaskTracker Pro'
      const subject = group.length === 1 ? lines[0]!.text : `${group.length} updates on ${taskName}`
      const rendered = await renderEmail({
        subject,
        preheader: lines.map(l => l.text).join(' · ').slice(0, 200),
        heading: group.length === 1 ? lines[0]!.text : `${group.length} updates on ${taskName}`,
        intro: `Hi ${user.name}, this happened while you were away${first.data.projectName ? ` in ${first.data.projectName}` : ''}.`,
        blocks: [{ heading: taskName, rows: lines.map(l => ({ label: l.text, url: l.url })) }],
        cta: lines[0]!.url ? { label: first.taskId ? 'Open the task' : 'Open the project', url: lines[0]!.url } : null,
        reason: `You get this email because it was still unread in TaskTracker Pro a while after it happened. Reading it in the app first means no email.`,
        unsubscribe: { label: 'Stop these emails', url: unsubscribeUrl(origin, token) },
        settingsUrl: `${origin}/settings/notifications`,
        origin,
      })
      await enqueueEmail(tx, { ...rendered, userId, kind: 'notification', to: user.email, headers: unsubscribeHeaders(origin, token) }, now)
    }
    return groups.size
  }, { timeout: 60_000, maxWait: 30_000 })
}
