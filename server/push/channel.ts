// The notifier's "push" channel. The notifier already applied mutes and the per-type × channel
// preferences (a delivery only reaches this channel when the recipient wants push for its type).
// Here: no push in do-not-disturb (`silent`), none for what the recipient is looking at right now
// (a visible, active tab on that task, or on that project for project notices: presence knows),
// at most `perMinute` per user (more fold into one "N more notifications" push), then one queued
// message per subscription of the recipient.
import { notificationLink, notificationText, type NotificationType } from '../../shared/schemas/notification'
import type { PushPayload } from '../../shared/schemas/push'
import type { Delivery, NotificationChannel } from '../notifications/channels'
import { usePresenceHub } from '../presence/hub'
import type { Db } from '../utils/db'
import { pushCounters } from './pushMetrics'
import type { PushJob, PushSender } from './sender'

export const pushLimits = {
  /** pushes per user per minute before they fold into one summary push */
  perMinute: 10,
}

/** Types that are never folded into the summary (someone needs this person). */
const urgentTypes: readonly NotificationType[] = ['assigned', 'unassigned', 'mentioned']

/** Whether the user has a visible, active tab on this task (or, without a task, on this project). */
export type ViewingLookup = (projectId: string, userIds: string[], taskId: string | null) => Promise<Set<string>>

export const viewingFromPresence: ViewingLookup = async (projectId, userIds, taskId) => {
  const wanted = new Set(userIds)
  const entries = await usePresenceHub().store.list(projectId, Date.now())
  return new Set(entries.filter(e => wanted.has(e.userId) && !e.idle && (taskId === null || e.taskId === taskId)).map(e => e.userId))
}

export function pushPayloadFor(d: Pick<Delivery, 'type' | 'projectId' | 'taskId' | 'data'>, actor: { id: string, username: string, name: string } | null): PushPayload {
  const { data } = d
  const ref = data.projectKey && data.taskNumber ? `${data.projectKey}-${data.taskNumber}` : null
  return {
    title: ref ? `${ref} · ${data.projectName ?? ''}`.trim() : (data.projectName ?? 'TaskTracker Pro'),
    body: notificationText({ type: d.type, latestActor: actor, actorCount: 1, count: 1, data }),
    tag: d.taskId ? `task-${d.taskId}` : d.projectId ? `project-${d.projectId}` : 'tasktracker',
    url: notificationLink({ type: d.type, projectId: d.projectId, taskId: d.taskId, data }) ?? '/',
  }
}

export interface PushChannelOptions {
  sender: () => PushSender | null
  viewing?: ViewingLookup
  now?: () => number
}

export function createPushChannel(options: PushChannelOptions): NotificationChannel {
  const viewing = options.viewing ?? viewingFromPresence
  const now = options.now ?? Date.now
  /** userId → times (ms) of the pushes of the last minute; the summary's count while folding */
  const recent = new Map<string, number[]>()
  const folded = new Map<string, number>()

  function overCap(userId: string, type: NotificationType): boolean {
    const t = now()
    const times = (recent.get(userId) ?? []).filter(x => x > t - 60_000)
    recent.set(userId, times)
    if (urgentTypes.includes(type) || times.length < pushLimits.perMinute) {
      times.push(t)
      if (times.length < pushLimits.perMinute) folded.delete(userId)
      return false
    }
    return true
  }

  return {
    name: 'push',
    async deliver(db: Db, deliveries: Delivery[]) {
      const sender = options.sender()
      if (!sender) return
      // Do-not-disturb: the in-app notification is kept (silent), nothing buzzes.
      const candidates = deliveries.filter(d => !d.silent)
      if (!candidates.length) return
      const looking = new Set<Delivery>()
      for (const d of candidates) {
        if (!d.projectId) continue
        const viewers = await viewing(d.projectId, [d.recipientId], d.taskId).catch(() => new Set<string>())
        if (viewers.has(d.recipientId)) looking.add(d)
      }
      pushCounters.skippedViewing += looking.size
      const wanted = candidates.filter(d => !looking.has(d))
      if (!wanted.length) return
      const recipients = [...new Set(wanted.map(d => d.recipientId))]
      const actorIds = [...new Set(wanted.map(d => d.actorId).filter((id): id is string => id !== null))]
      const [subscriptions, actors] = await Promise.all([
        db.pushSubscription.findMany({ where: { userId: { in: recipients } }, select: { id: true, userId: true, endpoint: true, p256dh: true, auth: true } }),
        db.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, username: true, name: true } }),
      ])
      if (!subscriptions.length) return
      const actorById = new Map(actors.map(a => [a.id, a]))
      const jobs: PushJob[] = []
      for (const d of wanted) {
        const mine = subscriptions.filter(s => s.userId === d.recipientId)
        if (!mine.length) continue
        let payload: PushPayload
        let topic: string
        if (overCap(d.recipientId, d.type)) {
          const count = (folded.get(d.recipientId) ?? 0) + 1
          folded.set(d.recipientId, count)
          payload = { title: 'TaskTracker Pro', body: `${count} more notifications arrived in a burst`, tag: 'summary', url: '/' }
          topic = 'summary'
        }
        else {
          payload = pushPayloadFor(d, d.actorId ? actorById.get(d.actorId) ?? null : null)
          topic = (d.taskId ? payload.tag : `p-${d.projectId ?? 'none'}`).replace(/[^\w-]/g, '').slice(0, 32)
        }
        const urgency = urgentTypes.includes(d.type) ? 'high' : 'normal'
        for (const s of mine) jobs.push({ subscriptionId: s.id, endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth, payload, topic, urgency })
      }
      sender.enqueue(jobs)
    },
  }
}
