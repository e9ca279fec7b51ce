import type { UndoEntry } from '~/stores/undo'

/**
 * Deleting a task from the panel, a card's menu, the palette or the Delete key: at once, with an
 * "Undo" toast (no confirm()); the delete is also on the undo stack (Ctrl/⌘+Z).
 */
export function useTaskActions() {
  const { $trpc } = useNuxtApp()
  const board = useBoardStore()
  const undoStore = useUndoStore()
  const { undo } = useUndo()
  const toast = useToast()

  async function deleteTask(task: { id: string, projectId: string }, label: string): Promise<boolean> {
    const held = board.byId[task.id]
    board.remove(task.id)
    try {
      await $trpc.task.delete.mutate({ id: task.id })
    }
    catch (err) {
      if (held) board.upsert(held)
      toast.error(`Could not delete ${label}: ${errorMessage(err)}`)
      return false
    }
    const entry: UndoEntry = { kind: 'delete', projectId: task.projectId, taskId: task.id, label }
    undoStore.record(entry)
    toast.withAction(`${label} deleted`, { label: 'Undo', run: () => undo(entry) })
    return true
  }

  return { deleteTask }
}
