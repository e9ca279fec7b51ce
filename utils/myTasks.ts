import { isEventOfType, type ProjectEvent } from '~~/shared/events'
import type { Task } from '~/utils/api'
import { cardFields } from '~/utils/projectEvents'

export const dueGroupValues = ['overdue', 'today', 'week', 'later', 'none'] as const
export type DueGroup = typeof dueGroupValues[number]

export const dueGroupLabels: Record<DueGroup, string> = {
  overdue: 'Overdue',
  today: 'Today',
  week: 'This week',
  later: 'Later',
  none: 'No due date',
}

/** `yyyy-mm-dd` of a local calendar day. */
function localDay(date: Date): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`
}

/**
 * Which group a due date falls in, seen from `now` in the viewer's time zone. A due date is a calendar
 * day (stored at UTC midnight, shown with formatDay in UTC), so its UTC day is compared with the
 * viewer's local today. "This week" runs to the end of Sunday (ISO weeks start on Monday).
 */
export function dueGroup(dueDate: Date | string | null, now: Date = new Date()): DueGroup {
  if (dueDate === null) return 'none'
  const due = new Date(dueDate).toISOString().slice(0, 10)
  const today = localDay(now)
  if (due < today) return 'overdue'
  if (due === today) return 'today'
  const sunday = new Date(now)
  sunday.setDate(now.getDate() + ((7 - now.getDay()) % 7))
  return due <= localDay(sunday) ? 'week' : 'later'
}

/** Within a group: earliest due first, then by project and number (stable, like a list). */
export function compareMyTasks(a: Task, b: Task): number {
  const da = a.dueDate ? new Date(a.dueDate).getTime() : Number.POSITIVE_INFINITY
  const db = b.dueDate ? new Date(b.dueDate).getTime() : Number.POSITIVE_INFINITY
  return (da - db) || (a.projectId < b.projectId ? -1 : a.projectId > b.projectId ? 1 : 0) || a.number - b.number
}

/** Tasks grouped by due date, in group order, each group sorted; empty groups are left out. */
export function groupByDue(tasks: readonly Task[], now: Date = new Date()): { group: DueGroup, tasks: Task[] }[] {
  const groups = Object.fromEntries(dueGroupValues.map(g => [g, [] as Task[]])) as Record<DueGroup, Task[]>
  for (const task of tasks) groups[dueGroup(task.dueDate, now)].push(task)
  return dueGroupValues.filter(g => groups[g].length).map(g => ({ group: g, tasks: groups[g].sort(compareMyTasks) }))
}

interface MyTasksTarget {
  byId: Record<string, Task>
  patch: (id: string, fields: Partial<Task>) => void
  remove: (id: string) => void
}

/** What to do after an event: fetch a task that became the user's (or whose card needs more than the event says). */
export interface MyTaskEffects {
  fetch?: string
  /** the user is no longer a member of the event's project */
  leftProject?: boolean
}

/**
 * Applies one project event to "My tasks": a task assigned to the user is fetched (the event does not
 * carry the assignee's name or the project's key), one assigned away or deleted goes, edits of a held
 * task are patched in place when the event is at least as new as the copy held.
 */
export function applyMyTaskEvent(store: MyTasksTarget, event: ProjectEvent, selfId: string): MyTaskEffects {
  if (isEventOfType(event, 'task.created')) {
    return event.data.task.assigneeId === selfId ? { fetch: event.entityId } : {}
  }
  if (isEventOfType(event, 'task.updated') || isEventOfType(event, 'task.moved')) {
    const local = store.byId[event.entityId]
    const assignee = event.data.changes.assigneeId
    if (assignee) {
      if (assignee.to === selfId) return local && local.version >= event.data.version ? {} : { fetch: event.entityId }
      if (local) store.remove(event.entityId)
      return {}
    }
    if (!local || event.data.version < local.version) return {}
    const fields: Partial<Task> = { version: event.data.version, updatedAt: new Date(event.createdAt) }
    for (const [key, { to }] of Object.entries(event.data.changes)) {
      if (key in cardFields) Object.assign(fields, { [key]: cardFields[key as keyof typeof cardFields](to) })
    }
    store.patch(event.entityId, fields)
    return {}
  }
  if (isEventOfType(event, 'task.deleted')) {
    if (store.byId[event.entityId]) store.remove(event.entityId)
    return {}
  }
  if (isEventOfType(event, 'member.removed') || isEventOfType(event, 'member.left')) {
    return event.data.userId === selfId ? { leftProject: true } : {}
  }
  return {}
}
