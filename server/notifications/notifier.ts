import { typedEvent, type JsonValue, type ProjectEvent } from '../../shared/events'
import {
  defaultPreference,
  extractMentions,
  type NotificationChannelName,
  type NotificationData,
  type NotificationType,
} from '../../shared/schemas/notification'
import type { Db } from '../utils/db'
import { logger } from '../utils/logger'
import { activeChannels, type Delivery } from './channels'
import { notificationNow } from './clock'
import { useServices } from '../container'

/**
 * What one event means for one person, before rules: the notifier keeps, per recipient and event,
 * the first candidate (in this order of importance) that the recipient has enabled anywhere.
 */
interface Candidate {
  recipientId: string
  type: NotificationType
  data: NotificationData
}

const priority: NotificationType[] = ['assigned', 'unassigned', 'mentioned', 'status_changed', 'due_date_changed', 'commented', 'member_added', 'member_removed']

interface TaskContext {
  id: string
  projectId: string
  number: number
  title: string
  assigneeId: string | null
  createdById: string
  deletedAt: Date | null
}

interface EventContext {
  event: ProjectEvent
  project: { id: string, name: string, key: string }
  /** userId → { username, role } of the project's current members */
  members: Map<string, { username: string, role: string }>
  task: TaskContext | null
}

function excerpt(text: string, max = 140): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

function asString(value: JsonValue | undefined): string | null {
  return typeof value === 'string' ? value : null
}

/** People following a task: its assignee, creator, commenters and explicit watchers, minus those who clicked Unwatch. */
async function followersOf(db: Db, task: TaskContext): Promise<Set<string>> {
  const [commenters, watches] = await Promise.all([
    db.comment.findMany({ where: { taskId: task.id, deletedAt: null }, select: { authorId: true }, distinct: ['authorId'] }),
    db.taskWatch.findMany({ where: { taskId: task.id }, select: { userId: true, watching: true } }),
  ])
  const followers = new Set<string>([task.createdById, ...commenters.map(c => c.authorId)])
  for (const w of watches) {
    if (w.watching) followers.add(w.userId)
    else followers.delete(w.userId)
  }
  // Being the assignee is not something one unwatches (mute the task instead).
  if (task.assigneeId) followers.add(task.assigneeId)
  return followers
}

/** The candidates an event produces, in no particular order (members only, except the removed member's own notice). */
async function candidatesFor(db: Db, ctx: EventContext): Promise<Candidate[]> {
  const { event, project, members, task } = ctx
  const base: NotificationData = { projectName: project.name, projectKey: project.key }
  const taskData: NotificationData = task ? { ...base, taskTitle: task.title, taskNumber: task.number } : base
  const out: Candidate[] = []
  const mention = (text: string | null | undefined, source: 'description' | 'comment', already: string[] = []) => {
    const before = new Set(already)
    const byUsername = new Map([...members].map(([id, m]) => [m.username, id]))
    for (const username of extractMentions(text)) {
      if (before.has(username)) continue
      const id = byUsername.get(username)
      if (id) out.push({ recipientId: id, type: 'mentioned', data: { ...taskData, source, ...(source === 'comment' && text ? { excerpt: excerpt(text) } : {}) } })
    }
  }

  const typed = typedEvent(event)
  switch (typed.type) {
    case 'task.created': {
      const created = typed.data.task
      if (typeof created.assigneeId === 'string') out.push({ recipientId: created.assigneeId, type: 'assigned', data: taskData })
      mention(asString(created.description), 'description')
      break
    }
    case 'task.updated':
    case 'task.moved': {
      if (!task) break
      const { changes } = typed.data
      if (changes.assigneeId) {
        const from = asString(changes.assigneeId.from)
        const to = asString(changes.assigneeId.to)
        if (to) out.push({ recipientId: to, type: 'assigned', data: taskData })
        if (from) out.push({ recipientId: from, type: 'unassigned', data: taskData })
      }
      if (changes.description) {
        // Only mentions that were not there before: later saves of the same text notify nobody again.
        mention(asString(changes.description.to), 'description', extractMentions(asString(changes.description.from)))
      }
      if (changes.status || changes.dueDate) {
        const followers = await followersOf(db, task)
        for (const id of followers) {
          if (changes.status) out.push({ recipientId: id, type: 'status_changed', data: { ...taskData, from: asString(changes.status.from), to: asString(changes.status.to) } })
          if (changes.dueDate) out.push({ recipientId: id, type: 'due_date_changed', data: { ...taskData, from: asString(changes.dueDate.from), to: asString(changes.dueDate.to) } })
        }
      }
      break
    }
    case 'comment.created': {
      if (!task) break
      const { body } = typed.data
      mention(body, 'comment')
      for (const id of await followersOf(db, task)) out.push({ recipientId: id, type: 'commented', data: { ...taskData, excerpt: excerpt(body) } })
      break
    }
    case 'member.added':
    case 'member.removed':
    case 'member.left': {
      const { userId } = typed.data
      const type: NotificationType = typed.type === 'member.added' ? 'member_added' : 'member_removed'
      const memberName = (typed.type === 'member.added' ? typed.data.name : undefined) ?? (await db.user.findUnique({ where: { id: userId }, select: { name: true } }))?.name
      const left = typed.type === 'member.left'
      if (!left) out.push({ recipientId: userId, type, data: { ...base, memberIsYou: true, memberName } })
      for (const [id, m] of members) {
        if ((m.role === 'OWNER' || m.role === 'ADMIN') && id !== userId) out.push({ recipientId: id, type, data: { ...base, memberName, left } })
      }
      break
    }
  }
  return out
}

async function loadContext(db: Db, event: ProjectEvent): Promise<EventContext | null> {
  const project = await db.project.findUnique({ where: { id: event.projectId }, select: { id: true, name: true, key: true } })
  if (!project) return null
  const rows = await db.projectMember.findMany({ where: { projectId: event.projectId }, select: { userId: true, role: true, user: { select: { username: true } } } })
  const members = new Map(rows.map(r => [r.userId, { username: r.user.username, role: r.role as string }]))
  let task: TaskContext | null = null
  const typed = typedEvent(event)
  const taskId = typed.entityType === 'task' ? typed.entityId : typed.type === 'comment.created' ? typed.data.taskId : null
  if (taskId) {
    task = await db.task.findUnique({ where: { id: taskId }, select: { id: true, projectId: true, number: true, title: true, assigneeId: true, createdById: true, deletedAt: true } })
    // Nothing to tell about a task that is gone (deleted since, or never there).
    if (!task || task.deletedAt) return null
  }
  return { event, project, members, task }
}

/** Which of these users are in do-not-disturb now (the services' `dnd` lookup, server/notifications/dnd.ts; the email channel holds their emails). */
export function usersInDnd(db: Db, userIds: string[]): Promise<Set<string>> {
  return useServices().dnd(db, userIds)
}

/** Whether an event can concern anyone, judged from the event alone (most edits and moves cannot). */
export function mayNotify(event: ProjectEvent): boolean {
  const typed = typedEvent(event)
  switch (typed.type) {
    case 'comment.created':
    case 'member.added':
    case 'member.removed':
    case 'member.left':
      return true
    case 'task.created': {
      const task = typed.data.task
      return typeof task.assigneeId === 'string' || extractMentions(asString(task.description)).length > 0
    }
    case 'task.updated':
    case 'task.moved': {
      const { changes } = typed.data
      return Boolean(changes.assigneeId || changes.status || changes.dueDate || (changes.description && extractMentions(asString(changes.description.to)).length))
    }
    default:
      return false
  }
}

export async function notifyEvent(db: Db, event: ProjectEvent, at: Date = notificationNow()): Promise<Delivery[]> {
  if (!mayNotify(event)) return []
  const ctx = await loadContext(db, event)
  if (!ctx) return []
  const candidates = await candidatesFor(db, ctx)
  const typed = typedEvent(event)
  const removedSelf = typed.type === 'member.removed' ? typed.data.userId : null
  // Never the actor; never someone outside the project (except the notice to the member just removed).
  const eligible = candidates.filter(c => c.recipientId !== event.actorId && (ctx.members.has(c.recipientId) || c.recipientId === removedSelf))
  if (!eligible.length) return []
  const recipients = [...new Set(eligible.map(c => c.recipientId))]

  const [prefs, mutes, dnd] = await Promise.all([
    db.notificationPreference.findMany({ where: { userId: { in: recipients } } }),
    db.mute.findMany({
      where: {
        userId: { in: recipients },
        OR: [{ projectId: event.projectId }, ...(ctx.task ? [{ taskId: ctx.task.id }] : [])],
        AND: [{ OR: [{ until: null }, { until: { gt: at } }] }],
      },
      select: { userId: true },
    }),
    usersInDnd(db, recipients),
  ])
  const muted = new Set(mutes.map(m => m.userId))
  const choice = new Map(prefs.map(p => [`${p.userId}:${p.type}:${p.channel}`, p.enabled]))
  const channelNames = activeChannels().map(c => c.name)
  const enabledChannels = (userId: string, type: NotificationType): NotificationChannelName[] =>
    (['inApp', 'email', 'push'] as const).filter(ch => choice.get(`${userId}:${type}:${ch}`) ?? defaultPreference(type, ch))

  const perChannel = new Map<NotificationChannelName, Delivery[]>(channelNames.map(n => [n, []]))
  const decided: Delivery[] = []
  for (const recipientId of recipients) {
    if (muted.has(recipientId)) continue
    const mine = eligible.filter(c => c.recipientId === recipientId).sort((a, b) => priority.indexOf(a.type) - priority.indexOf(b.type))
    // One notification per person and event: the most important one they want somewhere.
    const pick = mine.map(c => ({ c, channels: enabledChannels(recipientId, c.type) })).find(x => x.channels.length > 0)
    if (!pick) continue
    const delivery: Delivery = {
      recipientId,
      type: pick.c.type,
      projectId: event.projectId,
      taskId: ctx.task?.id ?? null,
      actorId: event.actorId,
      data: pick.c.data,
      silent: dnd.has(recipientId),
      at,
    }
    decided.push(delivery)
    for (const name of pick.channels) perChannel.get(name)?.push(delivery)
  }
  for (const channel of activeChannels()) {
    const list = perChannel.get(channel.name)
    if (!list?.length) continue
    try {
      await channel.deliver(db, list)
    }
    catch (error) {
      logger.error('a notification channel failed', { channel: channel.name, projectId: event.projectId, seq: event.seq, message: (error as Error).message })
    }
  }
  return decided
}

/** Work queued by `notifyCommitted`, run one event at a time in commit order on this instance. */
let queue: Promise<void> = Promise.resolve()

/**
 * Called by `transaction()` after a commit, with the events it appended. Never throws and never
 * delays the write's answer: the work runs on a later tick, and a failure is logged, not raised.
 */
export function notifyCommitted(db: Db, events: readonly ProjectEvent[]): void {
  // The time of the commit, not of the (later) processing, counts for windows and mutes.
  const at = notificationNow()
  queue = queue.then(async () => {
    for (const event of events) {
      try {
        await notifyEvent(db, event, at)
      }
      catch (error) {
        logger.error('notifying about an event failed', { projectId: event.projectId, seq: event.seq, type: event.type, message: (error as Error).message })
      }
    }
  })
}

/** Resolves once everything queued so far (and queued meanwhile) has been processed (tests, shutdown). */
export async function notificationsSettled(): Promise<void> {
  let current: Promise<void>
  do {
    current = queue
    await current
  } while (current !== queue)
}
