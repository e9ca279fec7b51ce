import type { TaskStatus } from '~~/shared/schemas/common'
import { statusLabels } from '~~/shared/schemas/common'
import { isPending } from '~/stores/board'

/**
 * Loads a project's tasks into the board store; creates and moves cards optimistically. Offline
 * (or with writes already waiting), creates and moves go to the outbox: the card stays pending or
 * in its new place until the queue is replayed.
 */
export function useBoard(projectId: MaybeRefOrGetter<string>) {
  const { $trpc } = useNuxtApp()
  const store = useBoardStore()
  const toast = useToast()
  const outbox = useOutbox()
  const undo = useUndoStore()

  async function load() {
    const id = toValue(projectId)
    store.setTasks(id, await $trpc.task.list.query({ projectId: id }))
    if (import.meta.client) outbox.reapply(id)
  }
  // Rendered on the server: the queued changes of this browser are shown once mounted.
  if (import.meta.client && getCurrentInstance()) onMounted(() => outbox.reapply(toValue(projectId)))

  /** Shows the card at once as pending; the server's task replaces it, an error removes it; offline, it is queued. */
  async function createTask(status: TaskStatus, title: string) {
    const id = toValue(projectId)
    const pending = store.addPending(id, status, title)
    const input = { projectId: id, title, status }
    try {
      const outcome = await outbox.run({ kind: 'task.create', input }, () => $trpc.task.create.mutate(input))
      if (outcome.queued) {
        if (outcome.item.kind === 'task.create') outbox.placePending(outcome.item, pending)
        return null
      }
      store.remove(pending.id)
      store.upsert(outcome.value)
      return outcome.value
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
    const input = { id, status, afterId, beforeId }
    try {
      const outcome = await outbox.run({
        kind: 'task.move',
        input,
        projectId: snapshot.before.projectId,
        title: snapshot.before.title,
        from: { status: snapshot.before.status, position: snapshot.before.position },
        to: snapshot.applied,
      }, () => $trpc.task.move.mutate(input))
      if (!outcome.queued) store.confirmMove(snapshot, outcome.value)
      const moved = store.byId[id]
      if (moved) {
        undo.record({
          kind: 'move',
          projectId: moved.projectId,
          taskId: id,
          label: `“${snapshot.before.title}”`,
          version: moved.version,
          before: { status: snapshot.before.status, position: snapshot.before.position },
          after: { status: moved.status, position: moved.position },
        })
      }
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
