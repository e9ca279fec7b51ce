import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import { priorityValues, taskStatusValues, type Priority, type TaskStatus } from '~~/shared/schemas/common'

/** The list view's filters, search and sort: all of it lives in the URL (shareable, survives reload, back button). */
export interface ListQuery {
  status: TaskStatus[]
  /** '' = anyone, 'none' = unassigned, else a user id */
  assignee: string
  label: string
  search: string
  sort: ListSort
}

export const listSortValues = ['board', 'priority', 'due', 'updated', 'number', 'title'] as const
export type ListSort = typeof listSortValues[number]
export const listSortLabels: Record<ListSort, string> = {
  board: 'Board order',
  priority: 'Priority',
  due: 'Due date',
  updated: 'Recently updated',
  number: 'Newest',
  title: 'Title',
}

/** The URL's names for them; the task panel's `task` and anything else in the query are left alone. */
const KEYS = { status: 'status', assignee: 'assignee', label: 'label', search: 'q', sort: 'sort' } as const

export const emptyListQuery = (): ListQuery => ({ status: [], assignee: '', label: '', search: '', sort: 'board' })

function first(value: LocationQuery[string] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' ? v : ''
}

/** Reads the list state from a URL query; unknown values are ignored, never an error. */
export function parseListQuery(query: LocationQuery): ListQuery {
  const statuses = first(query[KEYS.status]).split(',').filter((s): s is TaskStatus => (taskStatusValues as readonly string[]).includes(s))
  const sort = first(query[KEYS.sort])
  return {
    status: [...new Set(statuses)],
    assignee: first(query[KEYS.assignee]),
    label: first(query[KEYS.label]),
    search: first(query[KEYS.search]),
    sort: (listSortValues as readonly string[]).includes(sort) ? sort as ListSort : 'board',
  }
}

/** `query` with the list state written in; defaults leave their key out, so a plain list has a plain URL. */
export function withListQuery(query: LocationQuery, state: ListQuery): LocationQueryRaw {
  const ours = new Set<string>(Object.values(KEYS))
  const out: LocationQueryRaw = Object.fromEntries(Object.entries(query).filter(([key]) => !ours.has(key)))
  if (state.status.length) out[KEYS.status] = taskStatusValues.filter(s => state.status.includes(s)).join(',')
  if (state.assignee) out[KEYS.assignee] = state.assignee
  if (state.label.trim()) out[KEYS.label] = state.label.trim()
  if (state.search.trim()) out[KEYS.search] = state.search.trim()
  if (state.sort !== 'board') out[KEYS.sort] = state.sort
  return out
}

export function sameListQuery(a: ListQuery, b: ListQuery): boolean {
  return JSON.stringify(withListQuery({}, a)) === JSON.stringify(withListQuery({}, b))
}

interface Sortable {
  number: number
  title: string
  priority: Priority
  dueDate: Date | string | null
  updatedAt: Date | string
}
const priorityRank = Object.fromEntries(priorityValues.map((p, i) => [p, i])) as Record<Priority, number>
const time = (d: Date | string) => new Date(d).getTime()

/** Rows in the chosen order; 'board' keeps the server's order (status column, then position). */
export function sortTasks<T extends Sortable>(tasks: readonly T[], sort: ListSort): T[] {
  const rows = [...tasks]
  switch (sort) {
    case 'priority': return rows.sort((a, b) => priorityRank[b.priority] - priorityRank[a.priority] || a.number - b.number)
    // Dated tasks first, soonest first; undated last.
    case 'due': return rows.sort((a, b) => (a.dueDate ? time(a.dueDate) : Infinity) - (b.dueDate ? time(b.dueDate) : Infinity) || a.number - b.number)
    case 'updated': return rows.sort((a, b) => time(b.updatedAt) - time(a.updatedAt))
    case 'number': return rows.sort((a, b) => b.number - a.number)
    case 'title': return rows.sort((a, b) => a.title.localeCompare(b.title, 'en') || a.number - b.number)
    default: return rows
  }
}
