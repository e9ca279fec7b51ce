import type { TaskStatus } from '~~/shared/schemas/common'
import { statusLabels } from '~~/shared/schemas/common'
import { isPending } from '~/stores/board'

/** Loads a project's tasks into the board store; creates and moves cards optimistically. */
export function useBoard(projectId: MaybeRefOrGetter<string>) {
  const { $trpc } = useNuxtApp()
  const store = useBoardStore()
  const toast = useToast()

  async function load() {
    const id = toValue(projectId)
    store.setTasks(id, await $trpc.task.list.query({ projectId: id }))
  }

  /** Shows the card at once as pending; the server's task replaces it, an error removes it. */
  async function createTask(status: TaskStatus, title: string) {
    const id = toValue(projectId)
    const pending = store.addPending(id, status, title)
    try {
      const task = await $trpc.task.create.mutate({ projectId: id, title, status })
      store.remove(pending.id)
      store.upsert(task)
      return task
    }
    catch (err) {
      store.remove(pending.id)
      throw err
    }
  }

  /** Moves at once; the server's answer confirms it, an error puts the card back and says why. */
  async function moveTask(id: string, status: TaskStatus, afterId: string | null = null, beforeId: string | null = null): Promise<boolean> {
    // A neighbour the server does not know yet cannot anchor the move: use the other one.
    if (afterId && isPending({ id: afterId })) afterId = null
    if (beforeId && isPending({ id: beforeId })) beforeId = null
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
