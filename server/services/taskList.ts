// task.list: the filtered list of a project's tasks, cached per filter for one event seq.
import type { TaskListInput } from '../../shared/schemas/task'
import type { Prisma } from '../generated/prisma/client'
import type { Db } from '../utils/db'
import { notFound } from './errors'
import { taskListSelect, type TaskListItem } from './taskDto'
import { compareTasks } from './taskOrdering'
import { taskNumberIn, textMatches } from './taskSearch'

/**
 * Task lists cached per project and filter, valid for one event seq. Every write to a project's
 * tasks appends an event in its transaction, so an unchanged seq means an unchanged list, on any
 * instance. Results are shared between requests: treat them as immutable.
 */
const listCache = new Map<string, { seq: number, tasks: TaskListItem[] }>()
const LIST_CACHE_MAX = 200
/**
 * Lists being read, per filter key and seq: requests that miss the cache together (readers right
 * after a write) share one read instead of each rebuilding the same list.
 */
const building = new Map<string, { seq: number, tasks: Promise<TaskListItem[]> }>()

/**
 * `value` for Prisma's `contains`, matched literally: Prisma passes it into `ILIKE '%…%'` as is
 * (https://github.com/prisma/prisma/issues/19506), where `%` and `_` are wildcards and `\` escapes.
 */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, c => `\\${c}`)
}

export async function listTasks(db: Db, userId: string, input: TaskListInput): Promise<TaskListItem[]> {
  const membership = await db.projectMember.findUnique({
    where: { projectId_userId: { projectId: input.projectId, userId } },
    select: { project: { select: { eventSeq: true } } },
  })
  if (!membership) throw notFound('Project', input.projectId)
  // Object form: an absent filter (undefined, dropped) differs from assigneeId null (unassigned).
  const key = JSON.stringify({ p: input.projectId, s: input.status, a: input.assigneeId, l: input.label, q: input.search })
  const seq = membership.project.eventSeq
  const cached = listCache.get(key)
  if (cached && cached.seq === seq) return cached.tasks
  const inFlight = building.get(key)
  if (inFlight && inFlight.seq === seq) return inFlight.tasks

  const tasks = readList(db, input)
  building.set(key, { seq, tasks })
  try {
    const list = await tasks
    // A read of an older seq that ends after a newer one's never replaces it.
    if ((listCache.get(key)?.seq ?? -1) <= seq) {
      listCache.delete(key)
      listCache.set(key, { seq, tasks: list })
      if (listCache.size > LIST_CACHE_MAX) listCache.delete(listCache.keys().next().value!)
    }
    return list
  }
  finally {
    if (building.get(key)?.tasks === tasks) building.delete(key)
  }
}

/** The tasks of a filter, read now. The seq was read before: the list is at least as new as its label, never older. */
async function readList(db: Db, input: TaskListInput): Promise<TaskListItem[]> {
  const where: Prisma.TaskWhereInput = { projectId: input.projectId, deletedAt: null }
  if (input.status?.length) where.status = { in: input.status }
  if (input.assigneeId !== undefined) where.assigneeId = input.assigneeId
  if (input.label) where.labels = { has: input.label }
  if (input.search) {
    const number = taskNumberIn(input.search)
    const text = likeLiteral(input.search)
    // Words: full text over title and description (indexed); anything else (a part of a word,
    // "100%") still finds titles that contain it.
    const ids = await textMatches(db, input.projectId, input.search)
    where.OR = [
      { title: { contains: text, mode: 'insensitive' } },
      ...(ids.length ? [{ id: { in: ids } }] : []),
      ...(number === null ? [] : [{ number }]),
    ]
  }
  return (await db.task.findMany({ where, select: taskListSelect })).sort(compareTasks)
}
