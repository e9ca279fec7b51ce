import type { UndoEntry } from '~/stores/undo'
import type { Task, TaskPatchInput } from '~/utils/api'
import { taskPatchFields } from '~/composables/useTask'

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

  /** A quick change (palette): task.update on the version the board holds, undoable; a CONFLICT overwrites nothing. */
  async function updateTask(task: Task, patch: TaskPatchInput, label: string): Promise<boolean> {
    const fields = taskPatchFields.filter(field => field in patch && field !== 'description')
    try {
      const saved = await $trpc.task.update.mutate({ id: task.id, baseVersion: task.version, patch })
      board.upsert(saved)
      undoStore.record({
        kind: 'update',
        projectId: saved.projectId,
        taskId: saved.id,
        label,
        version: saved.version,
        before: Object.fromEntries(fields.map(field => [field, task[field as Exclude<typeof field, 'description'>]])),
        after: patch,
      })
      toast.success(`${label} updated`)
      return true
    }
    catch (err) {
      if (errorCode(err) === 'CONFLICT') toast.error(`${label} was changed by someone else meanwhile; nothing was overwritten. Open it to see the current version.`)
      else toast.error(`Could not change ${label}: ${errorMessage(err)}`)
      return false
    }
  }

  return { deleteTask, updateTask }
}
