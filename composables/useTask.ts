import type { Comment, TaskDetail, TaskPatchInput } from '~/utils/api'

/** One task for the side panel: fresh copy, versioned saves, delete, comments. Board store stays in sync. */
export function useTask(taskId: MaybeRefOrGetter<string>) {
  const { $trpc } = useNuxtApp()
  const board = useBoardStore()

  const task = ref<TaskDetail | null>(null)
  const comments = ref<Comment[]>([])
  const loading = ref(false)
  const error = ref<unknown>(null)

  async function load() {
    const id = toValue(taskId)
    if (task.value?.id !== id) task.value = null
    loading.value = true
    error.value = null
    try {
      const [fresh, list] = await Promise.all([$trpc.task.byId.query({ id }), $trpc.comment.list.query({ taskId: id })])
      task.value = fresh
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
   * Saves only the changed fields against the version the user edited. A CONFLICT (someone saved
   * in between) reloads the task and rethrows, so the panel can say so.
   */
  async function save(patch: TaskPatchInput) {
    const current = task.value
    if (!current) return
    try {
      const saved = await $trpc.task.update.mutate({ id: current.id, baseVersion: current.version, patch })
      task.value = saved
      board.upsert(saved)
    }
    catch (err) {
      if (errorCode(err) === 'CONFLICT') {
        const fresh = await $trpc.task.byId.query({ id: current.id })
        task.value = fresh
        board.upsert(fresh)
      }
      throw err
    }
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
    const comment = await $trpc.comment.create.mutate({ taskId: toValue(taskId), body })
    comments.value = [...comments.value, comment]
    return comment
  }

  return { task, comments, loading, error, load, save, remove, addComment }
}
