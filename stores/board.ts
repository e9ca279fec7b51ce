import { taskStatusValues, type TaskStatus } from '~~/shared/schemas/common'
import type { Task } from '~/utils/api'
import { comparePositions, keyBetween } from '~/utils/board'

/** What applyMove changed, so a failed save can put the card back. */
const PENDING_PREFIX = 'pending:'
export const isPending = (task: Pick<Task, 'id'>) => task.id.startsWith(PENDING_PREFIX)

export interface MoveSnapshot {
  id: string
  before: Task
  applied: { status: TaskStatus, position: string }
}

/** The tasks of the open project, normalized; columns are derived and always sorted by position. */
export const useBoardStore = defineStore('board', () => {
  const projectId = ref<string | null>(null)
  const byId = ref<Record<string, Task>>({})
  const ids = ref<string[]>([])

  const tasks = computed(() => ids.value.map(id => byId.value[id]).filter((t): t is Task => !!t))

  const columns = computed(() => {
    const result = Object.fromEntries(taskStatusValues.map(s => [s, [] as Task[]])) as Record<TaskStatus, Task[]>
    for (const task of tasks.value) result[task.status].push(task)
    for (const status of taskStatusValues) result[status].sort(comparePositions)
    return result
  })

  function column(status: TaskStatus): Task[] {
    return columns.value[status]
  }

  function setTasks(project: string, list: readonly Task[]) {
    projectId.value = project
    byId.value = Object.fromEntries(list.map(t => [t.id, t]))
    ids.value = list.map(t => t.id)
  }

  /** Adds or replaces a task; a copy older than the one held (a late answer after a live event) is ignored. */
  function upsert(task: Task) {
    if (projectId.value && task.projectId !== projectId.value) return
    const current = byId.value[task.id]
    if (!current) ids.value.push(task.id)
    else if (current.version > task.version) return
    byId.value[task.id] = task
  }

  /** Writes some fields of a task held in the store (a live event's changes). */
  function patch(id: string, fields: Partial<Task>) {
    const current = byId.value[id]
    if (current) byId.value[id] = { ...current, ...fields }
  }

  let pendingCount = 0
  /** A placeholder card for a task the server has not confirmed yet (`isPending(task)`). */
  function addPending(project: string, status: TaskStatus, title: string): Task {
    const last = columns.value[status].at(-1)
    const task: Task = {
      id: `${PENDING_PREFIX}${++pendingCount}`,
      projectId: project,
      number: 0,
      title,
      status,
      priority: 'NONE',
      assigneeId: null,
      assignee: null,
      dueDate: null,
      labels: [],
      position: keyBetween(last?.position ?? null, null),
      version: 0,
      updatedAt: new Date(),
    }
    upsert(task)
    return task
  }

  function remove(id: string) {
    const { [id]: _, ...rest } = byId.value
    byId.value = rest
    ids.value = ids.value.filter(x => x !== id)
  }

  /**
   * Moves a card at once, before the server answers. Neighbours are resolved like the server does:
   * right after `afterId`, else right before `beforeId`, else at the end of the column.
   */
  function applyMove(id: string, status: TaskStatus, afterId: string | null, beforeId: string | null): MoveSnapshot | null {
    const task = byId.value[id]
    if (!task) return null
    const col = columns.value[status].filter(t => t.id !== id)
    let index = col.length
    const afterIndex = afterId ? col.findIndex(t => t.id === afterId) : -1
    const beforeIndex = beforeId ? col.findIndex(t => t.id === beforeId) : -1
    if (afterIndex !== -1) index = afterIndex + 1
    else if (beforeIndex !== -1) index = beforeIndex
    const position = keyBetween(col[index - 1]?.position ?? null, col[index]?.position ?? null)
    byId.value[id] = { ...task, status, position }
    return { id, before: task, applied: { status, position } }
  }

  /**
   * Undoes applyMove, unless something newer (a later move, the server's answer, a live move) replaced
   * it. Only the place is undone: other fields may have changed since by live events.
   */
  function rollback(snapshot: MoveSnapshot) {
    const current = byId.value[snapshot.id]
    if (!current) return
    if (current.status !== snapshot.applied.status || current.position !== snapshot.applied.position) return
    byId.value[snapshot.id] = { ...current, status: snapshot.before.status, position: snapshot.before.position }
  }

  /** The server's answer to a move; a newer local move of the same card keeps its place but takes the version. */
  function confirmMove(snapshot: MoveSnapshot, saved: Task) {
    const current = byId.value[snapshot.id]
    if (!current) return
    // A live event newer than this answer already brought the server's state.
    if (current.version > saved.version) return
    const untouched = current.status === snapshot.applied.status && current.position === snapshot.applied.position
    byId.value[snapshot.id] = untouched ? saved : { ...current, version: Math.max(current.version, saved.version) }
  }

  return { projectId, byId, ids, tasks, columns, column, setTasks, upsert, patch, addPending, remove, applyMove, confirmMove, rollback }
})
