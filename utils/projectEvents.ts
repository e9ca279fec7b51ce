import { isEventOfType, typedEvent, type JsonValue, type ProjectEvent } from '~~/shared/events'
import { statusLabels, type Priority, type TaskStatus } from '~~/shared/schemas/common'
import type { useBoardStore } from '~/stores/board'
import { isPending } from '~/stores/board'
import type { Task } from '~/utils/api'

type BoardStore = Pick<ReturnType<typeof useBoardStore>, 'projectId' | 'byId' | 'tasks' | 'upsert' | 'remove' | 'patch'>

export interface EventContext {
  /** The signed-in user: their own new task replaces its pending card. */
  selfId: string | null
  /** An assignee as cards show them, when the project's members are known. */
  assignee: (userId: string) => Task['assignee'] | undefined
}

/** What the caller still has to fetch or refresh after an event was applied to the board. */
export interface EventEffects {
  applied: boolean
  /** The event did not carry everything a card shows (an assignee, a position): fetch the task. */
  refetchTask?: string
  members?: boolean
  project?: boolean
  commentOnTask?: string
  /** The signed-in user is no longer a member. */
  removedSelf?: boolean
}

const toDate = (value: JsonValue | undefined) => (typeof value === 'string' || typeof value === 'number' ? new Date(value) : null)

/** Card fields a `changes` entry can carry, each with how its JSON value is read. */
export const cardFields = {
  title: (v: JsonValue) => String(v),
  status: (v: JsonValue) => v as TaskStatus,
  priority: (v: JsonValue) => v as Priority,
  position: (v: JsonValue) => String(v),
  labels: (v: JsonValue) => (Array.isArray(v) ? v.map(String) : []),
  dueDate: toDate,
} satisfies Partial<Record<keyof Task, (v: JsonValue) => unknown>>

/**
 * Applies one project event to the board store, in place. A task event applies when its version is
 * at least the local one (an older one is a replay the store already has); only the changed fields
 * are written, so a card the user is moving keeps its optimistic place until its own answer comes.
 */
export function applyProjectEvent(board: BoardStore, event: ProjectEvent, ctx: EventContext): EventEffects {
  if (board.projectId && event.projectId !== board.projectId) return { applied: false }

  if (isEventOfType(event, 'task.created') || isEventOfType(event, 'task.restored')) {
    const t = event.data.task
    const local = board.byId[event.entityId]
    if (local && local.version > Number(t.version)) return { applied: false }
    const assigneeId = typeof t.assigneeId === 'string' ? t.assigneeId : null
    const assignee = assigneeId ? ctx.assignee(assigneeId) : null
    if (event.type === 'task.created' && event.actorId && event.actorId === ctx.selfId) {
      // Our own task, echoed before (or after) the create call answered: it takes the pending card's place.
      const placeholder = board.tasks.find(x => isPending(x) && x.title === t.title && x.status === t.status)
      if (placeholder) board.remove(placeholder.id)
    }
    board.upsert({
      id: event.entityId,
      projectId: event.projectId,
      number: Number(t.number),
      title: String(t.title),
      status: t.status as TaskStatus,
      priority: t.priority as Priority,
      assigneeId,
      assignee: assignee ?? null,
      dueDate: toDate(t.dueDate),
      labels: Array.isArray(t.labels) ? t.labels.map(String) : [],
      position: String(t.position),
      version: Number(t.version),
      updatedAt: toDate(t.updatedAt) ?? new Date(event.createdAt),
    })
    return { applied: true, refetchTask: assignee === undefined ? event.entityId : undefined }
  }

  if (isEventOfType(event, 'task.updated') || isEventOfType(event, 'task.moved')) {
    const local = board.byId[event.entityId]
    // A task this view does not hold (filtered out, or created before it loaded): fetch it.
    if (!local) return { applied: false, refetchTask: event.entityId }
    if (event.data.version < local.version) return { applied: false }
    const fields: Partial<Task> = { version: event.data.version, updatedAt: new Date(event.createdAt) }
    let refetch = false
    for (const [key, { to }] of Object.entries(event.data.changes)) {
      if (key === 'assigneeId') {
        fields.assigneeId = typeof to === 'string' ? to : null
        const assignee = fields.assigneeId ? ctx.assignee(fields.assigneeId) : null
        fields.assignee = assignee ?? null
        if (assignee === undefined) refetch = true
      }
      else if (key in cardFields) Object.assign(fields, { [key]: cardFields[key as keyof typeof cardFields](to) })
      // Other fields (description) are not on cards: the open panel fetches the task itself.
    }
    // A status change through task.update carries the server-chosen `position` (end of the new column) like a move.
    board.patch(event.entityId, fields)
    return { applied: true, refetchTask: refetch ? event.entityId : undefined }
  }

  if (isEventOfType(event, 'task.deleted')) {
    const had = !!board.byId[event.entityId]
    board.remove(event.entityId)
    return { applied: had }
  }

  if (isEventOfType(event, 'comment.created')) return { applied: false, commentOnTask: event.data.taskId }
  const typed = typedEvent(event)
  if (typed.type === 'member.removed' || typed.type === 'member.left') {
    return { applied: false, members: true, removedSelf: typed.data.userId === ctx.selfId }
  }
  if (event.type.startsWith('member.')) return { applied: false, members: true }
  if (event.type === 'project.updated') return { applied: false, project: true }
  return { applied: false }
}

export interface StatusToastContext {
  /** The signed-in user: their own moves need no toast, they just made them. */
  selfId: string | null
  memberName: (userId: string) => string | undefined
  taskTitle: (taskId: string) => string | undefined
  now?: Date
}

/** Events older than this are a catch-up after a reconnect: no toast storm for them. */
const STATUS_TOAST_MAX_AGE_MS = 2 * 60_000

/**
 * The toast for a status change someone else made ("Ana moved 'Fix login' to Done"), or null: not
 * a status change, the user's own, or an old event replayed on catch-up.
 */
export function statusToastText(event: ProjectEvent, ctx: StatusToastContext): string | null {
  if (!isEventOfType(event, 'task.updated') && !isEventOfType(event, 'task.moved')) return null
  const status = event.data.changes.status
  if (!status || status.from === status.to) return null
  if (event.actorId && event.actorId === ctx.selfId) return null
  const now = ctx.now ?? new Date()
  if (now.getTime() - new Date(event.createdAt).getTime() > STATUS_TOAST_MAX_AGE_MS) return null
  const who = (event.actorId && ctx.memberName(event.actorId)) || 'Someone'
  const newTitle = event.data.changes.title?.to
  const title = typeof newTitle === 'string' ? newTitle : ctx.taskTitle(event.entityId)
  const to = statusLabels[status.to as TaskStatus] ?? String(status.to)
  return title ? `${who} moved '${title}' to ${to}` : `${who} moved a task to ${to}`
}

/**
 * The toast for a membership change someone else made ("Dan added Ben to the project", "Ben left
 * the project"), for everyone viewing the project. The people concerned also get a notification
 * (server/notifications); the same trigger, the project event, feeds both.
 */
export function memberToastText(event: ProjectEvent, ctx: StatusToastContext): string | null {
  if (event.actorId && event.actorId === ctx.selfId) return null
  const now = ctx.now ?? new Date()
  if (now.getTime() - new Date(event.createdAt).getTime() > STATUS_TOAST_MAX_AGE_MS) return null
  const who = (event.actorId && ctx.memberName(event.actorId)) || 'Someone'
  if (isEventOfType(event, 'member.added')) {
    return event.data.userId === ctx.selfId ? `${who} added you to the project` : `${who} added ${event.data.name} to the project`
  }
  if (isEventOfType(event, 'member.removed')) {
    const name = ctx.memberName(event.data.userId) ?? 'a member'
    return `${who} removed ${name} from the project`
  }
  if (isEventOfType(event, 'member.left')) return `${who} left the project`
  return null
}
