import type { TaskFieldConflict } from '~~/shared/schemas/task'
import type { Comment, TaskDetail, TaskPatchInput } from '~/utils/api'

/** One task for the side panel: fresh copy, versioned saves, delete, comments. Board store stays in sync. */
export function useTask(taskId: MaybeRefOrGetter<string>) {
  const { $trpc } = useNuxtApp()
  const board = useBoardStore()
  const outbox = useOutbox()
  const undo = useUndoStore()
  const projects = useProjectsStore()

  const task = ref<TaskDetail | null>(null)
  const comments = ref<Comment[]>([])
  const loading = ref(false)
  const error = ref<unknown>(null)
  /** What the last save ran into (someone else changed the same fields); the panel shows it. */
  const conflict = ref<TaskConflict | null>(null)
  /** The version unsaved edits are based on, when older than `task` (see rebase); null: `task`'s. */
  const baseVersion = ref<number | null>(null)
  /** Fields others changed since `baseVersion`. */
  let theirsSinceBase: string[] = []

  async function load() {
    const id = toValue(taskId)
    if (task.value?.id !== id) task.value = null
    loading.value = true
    error.value = null
    try {
      const [fresh, list] = await Promise.all([$trpc.task.byId.query({ id }), $trpc.comment.list.query({ taskId: id })])
      task.value = fresh
      syncBase()
      comments.value = list
      board.upsert(fresh)
    }
    catch (err) {
      error.value = err
    }
    finally {
      loading.value = false
    }
  }

  /**
   * Saves only the changed fields against the version the edits are based on; the server merges
   * what others changed meanwhile. A CONFLICT shows the server's copy and sets `conflict` (theirs
   * vs mine per field) for the panel's dialog, then rethrows; nothing of the patch was saved.
   */
  async function save(patch: TaskPatchInput, retried = false): Promise<void> {
    const current = task.value
    if (!current) return
    const base = baseVersion.value ?? current.version
    try {
      // Offline, the edit is queued and the panel shows it applied (useOutbox).
      const saved = await outbox.updateTask(base === current.version ? current : { ...current, version: base }, patch)
      recordEdit(current, saved, patch)
      task.value = saved
      syncBase()
      conflict.value = null
      board.upsert(saved)
    }
    catch (err) {
      if (errorCode(err) !== 'CONFLICT') throw err
      const found = conflictOf(err, patch) ?? { current: await $trpc.task.byId.query({ id: current.id }), conflicts: [], attempted: patch }
      task.value = found.current
      syncBase()
      board.upsert(found.current)
      if (!found.conflicts.length) found.conflicts = guessConflicts(current, found.current, patch)
      // Changed while saving, but not in the fields of this patch: it applies on the new version.
      if (!found.conflicts.length && !retried) return save(patch, true)
      conflict.value = found
      throw err
    }
  }

  /** A saved edit goes on the undo stack with the values it replaced (a queued one has no version yet: not undoable). */
  function recordEdit(before: TaskDetail, saved: TaskDetail, patch: TaskPatchInput) {
    if (saved.version <= before.version) return
    const fields = taskPatchFields.filter(field => field in patch)
    const label = projects.current ? `${projects.current.key}-${saved.number}` : `“${saved.title}”`
    undo.record({
      kind: 'update',
      projectId: saved.projectId,
      taskId: saved.id,
      label,
      version: saved.version,
      before: Object.fromEntries(fields.map(field => [field, before[field]])),
      after: Object.fromEntries(fields.map(field => [field, saved[field]])),
    })
  }

  /** The latest copy from the server, without showing it yet (the panel rebases its edits onto it). */
  async function fetchLatest(): Promise<TaskDetail> {
    return $trpc.task.byId.query({ id: toValue(taskId) })
  }

  /**
   * A newer copy arrived while the panel holds unsaved edits to the `edited` fields: it becomes the
   * shown copy. The next save is based on it only when nobody else changed an edited field since
   * the edits' base; otherwise the old base stays, so the server merges or reports the conflict.
   * Returns the fields others changed (the panel shows their values where it has no edits).
   */
  function rebase(fresh: TaskDetail, edited: readonly string[]): TaskPatchField[] {
    const old = task.value
    if (!old || fresh.id !== old.id || fresh.version <= old.version) return []
    const changed = changedTaskFields(old, fresh)
    const next = rebaseBase({ baseVersion: baseVersion.value ?? old.version, theirsSinceBase }, { version: fresh.version, changed }, edited)
    baseVersion.value = next.baseVersion === fresh.version ? null : next.baseVersion
    theirsSinceBase = next.theirsSinceBase
    task.value = fresh
    board.upsert(fresh)
    return changed
  }

  /** No unsaved edits (saved, discarded, reloaded): the next edits start from the shown copy. */
  function syncBase() {
    baseVersion.value = null
    theirsSinceBase = []
  }

  // Someone commented (live event): reload the thread; our own new comment is already in it.
  const realtime = useRealtimeStore()
  watch(() => realtime.commentChanges[toValue(taskId)], async () => {
    if (!task.value) return
    try {
      comments.value = await $trpc.comment.list.query({ taskId: toValue(taskId) })
    }
    catch {
      // The task went away; its own event tells the panel.
    }
  })

  async function remove() {
    const current = task.value
    if (!current) return
    await $trpc.task.delete.mutate({ id: current.id })
    board.remove(current.id)
  }

  async function addComment(body: string) {
    // Offline: a `pending:` placeholder until the queue is sent (useOutbox).
    const comment = await outbox.addComment({ taskId: toValue(taskId), body })
    comments.value = [...comments.value, comment]
    return comment
  }

  return { task, comments, loading, error, conflict, baseVersion, load, save, fetchLatest, rebase, syncBase, remove, addComment }
}

/** A task.update CONFLICT as the panel shows it: the server's copy and, per field, theirs vs mine. */
export interface TaskConflict {
  current: TaskDetail
  conflicts: TaskFieldConflict[]
  /** The patch that was refused (none of it was saved). */
  attempted: TaskPatchInput
}

/** The fields task.update can write, as the panel edits them. */
export const taskPatchFields = ['title', 'description', 'status', 'priority', 'assigneeId', 'dueDate', 'labels'] as const
export type TaskPatchField = typeof taskPatchFields[number]

const comparable = (value: unknown) => JSON.stringify(value instanceof Date ? value.toISOString() : value ?? null)
export const sameFieldValue = (a: unknown, b: unknown) => comparable(a) === comparable(b)

/** Fields whose values differ between two copies of a task. */
export function changedTaskFields(a: Pick<TaskDetail, TaskPatchField>, b: Pick<TaskDetail, TaskPatchField>): TaskPatchField[] {
  return taskPatchFields.filter(field => !sameFieldValue(a[field], b[field]))
}

/**
 * The rebase rule. Remote changes (`remote.changed`, now at `remote.version`) arrive while edits to
 * `edited` are unsaved. If no field others changed since the edits' base is edited, the edits
 * move onto the new version (the server then has nothing to merge); if one is, the base stays, and
 * the server decides (auto-merge, or CONFLICT with both sides).
 */
export function rebaseBase(
  state: { baseVersion: number, theirsSinceBase: readonly string[] },
  remote: { version: number, changed: readonly string[] },
  edited: readonly string[],
): { baseVersion: number, theirsSinceBase: string[] } {
  const theirs = [...new Set([...state.theirsSinceBase, ...remote.changed])]
  if (theirs.some(field => edited.includes(field))) return { baseVersion: state.baseVersion, theirsSinceBase: theirs }
  return { baseVersion: remote.version, theirsSinceBase: [] }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value)
}

/** `error.data.details` of a task.update CONFLICT, when it carries the current task. */
export function conflictOf(err: unknown, attempted: TaskPatchInput): TaskConflict | null {
  const data = isRecord(err) && isRecord(err.data) ? err.data : null
  const details = data && isRecord(data.details) ? data.details : null
  if (!details || !isRecord(details.current) || typeof details.current.version !== 'number') return null
  const conflicts = Array.isArray(details.conflicts)
    ? details.conflicts.filter((c): c is TaskFieldConflict => isRecord(c) && typeof c.field === 'string' && isRecord(c.theirs))
    : []
  return { current: details.current as TaskDetail, conflicts, attempted }
}

/**
 * Conflicts the server did not list (it was changed while saving): the patch's fields that someone
 * else changed since the shown copy, to a value other than mine.
 */
export function guessConflicts(shown: TaskDetail, current: TaskDetail, patch: TaskPatchInput): TaskFieldConflict[] {
  return taskPatchFields
    .filter(field => field in patch && !sameFieldValue(shown[field], current[field]) && !sameFieldValue(current[field], patch[field]))
    .map(field => ({ field, base: shown[field], theirs: { value: current[field], actor: null, at: current.updatedAt }, mine: patch[field] }))
}
