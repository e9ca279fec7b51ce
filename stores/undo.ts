import type { TaskStatus } from '~~/shared/schemas/common'
import type { TaskPatchInput } from '~/utils/api'

interface EntryBase {
  projectId: string
  taskId: string
  /** How the toasts name the task. */
  label: string
}

/**
 * One change of the signed-in user's, with both sides, so it can be undone and redone as a new write.
 * `version` is the task's version right after the side last written (what an undo bases its write on).
 */
export type UndoEntry = EntryBase & (
  | { kind: 'move', version: number, before: { status: TaskStatus, position: string }, after: { status: TaskStatus, position: string } }
  | { kind: 'update', version: number, before: TaskPatchInput, after: TaskPatchInput }
  | { kind: 'delete' }
)

/** At most this many changes can be undone (older ones drop off). */
export const UNDO_LIMIT = 50

/**
 * Undo and redo stacks of the user's own recent changes in this tab (composables/useUndo.ts performs
 * them). An undo is a new write through the normal path, based on the version the user's own last
 * write left: versions written by this user since are known (`ownVersions`), so undoing two edits
 * in a row does not conflict with itself, while a write by anyone else in between makes the server
 * merge per field, or answer CONFLICT, exactly as for any other edit.
 */
export const useUndoStore = defineStore('undo', () => {
  const undoStack = ref<UndoEntry[]>([])
  const redoStack = ref<UndoEntry[]>([])
  /** Per task, the versions the user's own writes produced (their own, not someone else's). */
  const ownVersions = ref<Record<string, number[]>>({})
  /** An undo or redo is being written: its write is not recorded as a new change. */
  const busy = ref(false)

  function noteVersion(taskId: string, version: number) {
    const list = ownVersions.value[taskId] ?? []
    if (!list.includes(version)) ownVersions.value[taskId] = [...list, version].slice(-UNDO_LIMIT * 2)
  }

  /** A new change of the user's: undoable; whatever was undone before can no longer be redone. */
  function record(entry: UndoEntry) {
    if (busy.value) return
    if ('version' in entry) noteVersion(entry.taskId, entry.version)
    undoStack.value = [...undoStack.value, entry].slice(-UNDO_LIMIT)
    redoStack.value = []
  }

  /**
   * The version to base a write on: the entry's, moved past every later version this user wrote
   * (versions are consecutive per task, so the first one written by someone else stops it).
   */
  function baseVersion(entry: { taskId: string, version: number }): number {
    const own = new Set(ownVersions.value[entry.taskId] ?? [])
    let version = entry.version
    while (own.has(version + 1)) version++
    return version
  }

  function takeUndo(): UndoEntry | undefined {
    const entry = undoStack.value.at(-1)
    if (entry) undoStack.value = undoStack.value.slice(0, -1)
    return entry
  }

  function takeRedo(): UndoEntry | undefined {
    const entry = redoStack.value.at(-1)
    if (entry) redoStack.value = redoStack.value.slice(0, -1)
    return entry
  }

  /** After a successful undo (to redo it later) or redo (to undo it again). */
  function pushRedo(entry: UndoEntry) {
    redoStack.value = [...redoStack.value, entry].slice(-UNDO_LIMIT)
  }
  function pushUndo(entry: UndoEntry) {
    undoStack.value = [...undoStack.value, entry].slice(-UNDO_LIMIT)
  }

  function clear() {
    undoStack.value = []
    redoStack.value = []
    ownVersions.value = {}
  }

  const canUndo = computed(() => undoStack.value.length > 0)
  const canRedo = computed(() => redoStack.value.length > 0)

  return { undoStack, redoStack, ownVersions, busy, canUndo, canRedo, noteVersion, record, baseVersion, takeUndo, takeRedo, pushRedo, pushUndo, clear }
})
