import type { UndoEntry } from '~/stores/undo'

const what = (entry: UndoEntry) => (entry.kind === 'move' ? 'move' : entry.kind === 'update' ? 'edit' : 'delete')

/**
 * Performs undo and redo (Ctrl/⌘+Z, Shift+Ctrl/⌘+Z, the "Undo" toast) as new writes through the
 * normal path: moves through useBoard (optimistic, outbox), edits through task.update with the
 * base version of the user's own last write (someone else's later change to the same field is a
 * CONFLICT, never overwritten), deletes through task.restore / task.delete. Others see each one live.
 */
export function useUndo() {
  const { $trpc } = useNuxtApp()
  const store = useUndoStore()
  const board = useBoardStore()
  const toast = useToast()

  /** Writes one side of an entry; the entry as it now stands (new version, place), or null when it failed (said in a toast). */
  async function apply(entry: UndoEntry, toward: 'before' | 'after'): Promise<UndoEntry | null> {
    const verb = toward === 'before' ? 'undo' : 'redo'
    try {
      switch (entry.kind) {
        case 'delete': {
          if (toward === 'before') {
            const task = await $trpc.task.restore.mutate({ id: entry.taskId })
            board.upsert(task)
            store.noteVersion(task.id, task.version)
          }
          else {
            await $trpc.task.delete.mutate({ id: entry.taskId })
            board.remove(entry.taskId)
          }
          return entry
        }
        case 'move': {
          const target = entry[toward]
          const expected = entry[toward === 'before' ? 'after' : 'before']
          const current = board.byId[entry.taskId]
          if (current && (current.status !== expected.status || current.position !== expected.position)) {
            toast.error(`Could not ${verb} the move of ${entry.label}: someone else moved it since.`)
            return null
          }
          // Back between the cards that are around its old place now.
          const column = board.columns[target.status].filter(t => t.id !== entry.taskId)
          const afterId = column.findLast(t => t.position < target.position)?.id ?? null
          const beforeId = afterId ? null : column[0]?.id ?? null
          if (!await useBoard(entry.projectId).moveTask(entry.taskId, target.status, afterId, beforeId)) return null
          const moved = board.byId[entry.taskId]
          if (!moved) return entry
          store.noteVersion(moved.id, moved.version)
          return { ...entry, version: moved.version, [toward]: { status: moved.status, position: moved.position } }
        }
        case 'update': {
          const saved = await $trpc.task.update.mutate({ id: entry.taskId, baseVersion: store.baseVersion(entry), patch: entry[toward] })
          board.upsert(saved)
          store.noteVersion(saved.id, saved.version)
          return { ...entry, version: saved.version }
        }
      }
    }
    catch (err) {
      if (errorCode(err) === 'CONFLICT') toast.error(`Could not ${verb} your ${what(entry)} of ${entry.label}: someone else changed it since. Nothing was overwritten.`)
      else toast.error(`Could not ${verb} your ${what(entry)} of ${entry.label}: ${errorMessage(err)}`)
      return null
    }
  }

  /** Undoes the latest change (or `entry`, when it is still undoable: the "Undo" toast of a delete). */
  async function undo(entry?: UndoEntry): Promise<boolean> {
    if (store.busy) return false
    const target = entry ? (store.undoStack.includes(entry) ? entry : undefined) : store.undoStack.at(-1)
    if (!target) {
      if (!entry) toast.info('Nothing to undo')
      return false
    }
    store.undoStack = store.undoStack.filter(e => e !== target)
    store.busy = true
    try {
      const done = await apply(target, 'before')
      if (!done) return false
      store.pushRedo(done)
      toast.success(`Undone: ${what(target)} of ${target.label}`)
      return true
    }
    finally {
      store.busy = false
    }
  }

  async function redo(): Promise<boolean> {
    if (store.busy) return false
    const target = store.takeRedo()
    if (!target) {
      toast.info('Nothing to redo')
      return false
    }
    store.busy = true
    try {
      const done = await apply(target, 'after')
      if (!done) return false
      store.pushUndo(done)
      toast.success(`Redone: ${what(target)} of ${target.label}`)
      return true
    }
    finally {
      store.busy = false
    }
  }

  return { undo, redo, canUndo: computed(() => store.canUndo), canRedo: computed(() => store.canRedo) }
}
