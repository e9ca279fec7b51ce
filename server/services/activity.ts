import type { JsonValue } from '../../shared/events'
import type { ActivityChange, ActivityItem, ActivityListInput, ActivityPage, ActivityTargetKind } from '../../shared/schemas/activity'
import type { Prisma } from '../generated/prisma/client'
import type { Db } from '../utils/db'
import { requireRole } from './access'
import { notFound } from './errors'

const activityEventSelect = {
  seq: true,
  type: true,
  entityType: true,
  entityId: true,
  data: true,
  createdAt: true,
  actor: { select: { id: true, username: true, name: true } },
} as const satisfies Prisma.ProjectEventSelect

type ActivityEventRow = Prisma.ProjectEventGetPayload<{ select: typeof activityEventSelect }>
type EventData = { [key: string]: JsonValue | undefined }

const asData = (data: unknown): EventData => (data && typeof data === 'object' && !Array.isArray(data) ? data as EventData : {})
const asString = (value: unknown): string | null => (typeof value === 'string' ? value : null)

/** The task an event is about: the task itself, or the one a comment is on. */
function taskIdOf(row: ActivityEventRow): string | null {
  if (row.entityType === 'task') return row.entityId
  if (row.entityType === 'comment') return asString(asData(row.data).taskId)
  return null
}

/** The field changes of an event, old → new; creations and removals as changes from or to null. */
function changesOf(row: ActivityEventRow): ActivityChange[] {
  const data = asData(row.data)
  const changes = data.changes
  if (changes && typeof changes === 'object' && !Array.isArray(changes)) {
    return Object.entries(changes).map(([field, change]) => {
      const { from = null, to = null } = asData(change)
      return { field, from, to }
    })
  }
  switch (row.type) {
    case 'comment.created':
      return [{ field: 'body', from: null, to: data.body ?? null }]
    case 'member.added':
      return [{ field: 'role', from: null, to: data.role ?? null }]
    case 'member.removed':
    case 'member.left':
      return [{ field: 'role', from: data.role ?? null, to: null }]
    default:
      return []
  }
}

/**
 * A project's activity feed: its event log, newest first, `limit` entries older than `cursor` (a
 * seq). With `taskId`, the task's events and those of its comments. Members only (NOT_FOUND for
 * anyone else, like every project read). Titles, keys and member names are resolved in one query
 * each, whatever the page size.
 */
export async function listActivity(db: Db, userId: string, input: ActivityListInput): Promise<ActivityPage> {
  await requireRole(db, input.projectId, userId)
  const project = await db.project.findUniqueOrThrow({ where: { id: input.projectId }, select: { key: true, name: true } })
  const limit = input.limit ?? 50
  const where: Prisma.ProjectEventWhereInput = { projectId: input.projectId }
  if (input.cursor) where.seq = { lt: Number(input.cursor) }
  if (input.taskId) {
    const task = await db.task.findFirst({
      where: { id: input.taskId, projectId: input.projectId },
      select: { comments: { select: { id: true } } },
    })
    if (!task) throw notFound('Task', input.taskId)
    // Entity ids (indexed with the project) rather than the comments' data.taskId (a JSON scan).
    where.entityId = { in: [input.taskId, ...task.comments.map(c => c.id)] }
  }
  const rows = await db.projectEvent.findMany({ where, orderBy: { seq: 'desc' }, take: limit + 1, select: activityEventSelect })
  const page = rows.slice(0, limit)

  const taskIds = [...new Set(page.map(taskIdOf).filter((id): id is string => id !== null))]
  const memberIds = [...new Set(page.filter(r => r.entityType === 'member').map(r => r.entityId))]
  const [tasks, users] = await Promise.all([
    taskIds.length ? db.task.findMany({ where: { id: { in: taskIds }, projectId: input.projectId }, select: { id: true, number: true, title: true } }) : [],
    memberIds.length ? db.user.findMany({ where: { id: { in: memberIds } }, select: { id: true, name: true } }) : [],
  ])
  const taskById = new Map(tasks.map(t => [t.id, t]))
  const userName = new Map(users.map(u => [u.id, u.name]))

  const items = page.map((row): ActivityItem => {
    const kind = row.entityType as ActivityTargetKind
    const data = asData(row.data)
    const taskId = taskIdOf(row)
    const task = taskId ? taskById.get(taskId) : undefined
    let title: string | null = null
    let key: string | null = null
    if (taskId) {
      title = task?.title ?? asString(data.title)
      key = task ? `${project.key}-${task.number}` : null
    }
    else if (kind === 'member') {
      title = userName.get(row.entityId) ?? asString(data.name)
    }
    else if (kind === 'label') {
      const changes = data.changes as { name?: { to?: unknown } } | undefined
      title = asString(data.name) ?? asString(changes?.name?.to)
    }
    else if (kind === 'project') {
      title = project.name
      key = project.key
    }
    return {
      seq: row.seq,
      at: row.createdAt,
      type: row.type,
      actor: row.actor,
      target: { kind, id: row.entityId, taskId, title, key },
      changes: changesOf(row),
    }
  })
  return { items: foldDescriptionEdits(items), nextCursor: rows.length > limit ? String(page.at(-1)!.seq) : null }
}

/** Edits of one description by one person closer together than this show as one entry. */
export const DESCRIPTION_EDIT_WINDOW_MS = 5 * 60_000

const onlyDescription = (item: ActivityItem) => item.type === 'task.updated' && item.changes.length === 1 && item.changes[0]!.field === 'description'

/**
 * A description edited live (issue 17) is written each time the typing settles: one "edited the
 * description" per person per few minutes, not one per pause. Within a page (newest first), an
 * older description-only edit by the same person of the same task, less than the window before the
 * entry kept, is folded into it (its `from` becomes the entry's).
 */
export function foldDescriptionEdits(items: ActivityItem[]): ActivityItem[] {
  const out: ActivityItem[] = []
  /** per person and task: the entry kept, and the time of the oldest edit folded into it */
  const kept = new Map<string, { item: ActivityItem, since: number }>()
  for (const item of items) {
    const key = onlyDescription(item) && item.actor ? `${item.actor.id}:${item.target.id}` : null
    const newer = key ? kept.get(key) : undefined
    // The window runs from the oldest edit folded in, so a long session still shows every few minutes.
    if (newer && newer.since - item.at.getTime() < DESCRIPTION_EDIT_WINDOW_MS) {
      newer.item.changes = [{ ...newer.item.changes[0]!, from: item.changes[0]!.from }]
      newer.since = item.at.getTime()
      continue
    }
    if (key) kept.set(key, { item, since: item.at.getTime() })
    out.push(item)
  }
  return out
}
