import type { TaskStatus } from '~~/shared/schemas/common'
import { statusLabels } from '~~/shared/schemas/common'

/** Loads a project's tasks into the board store; creates and moves cards optimistically. */
export function useBoard(projectId: MaybeRefOrGetter<string>) {
  const { $trpc } = useNuxtApp()
  const store = useBoardStore()
  const toast = useToast()

  async function load() {
    const id = toValue(projectId)
    store.setTasks(id, await $trpc.task.list.query({ projectId: id }))
  }

  async function createTask(status: TaskStatus, title: string) {
    const task = await $trpc.task.create.mutate({ projectId: toValue(projectId), title, status })
    store.upsert(task)
    return task
  }

  /** Moves at once; the server's answer confirms it, an error puts the card back and says why. */
  async function moveTask(id: string, status: TaskStatus, afterId: string | null = null, beforeId: string | null = null): Promise<boolean> {
    const snapshot = store.applyMove(id, status, afterId, beforeId)
    if (!snapshot) return false
    try {
      const saved = await $trpc.task.move.mutate({ id, status, afterId, beforeId })
      store.confirmMove(snapshot, saved)
      return true
    }
    catch (err) {
      store.rollback(snapshot)
      toast.error(`Could not move “${snapshot.before.title}” to ${statusLabels[status]}: ${errorMessage(err)}`)
      return false
    }
  }

  return { columns: computed(() => store.columns), tasks: computed(() => store.tasks), load, createTask, moveTask }
}
