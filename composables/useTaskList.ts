import type { TaskStatus } from '~~/shared/schemas/common'

export interface TaskFilters {
  status: TaskStatus[]
  /** '' = anyone, 'none' = unassigned, else a user id */
  assignee: string
  label: string
  search: string
}

/** Server-side filtered tasks for the list view; rows read from the board store so panel edits show at once. */
export function useTaskList(projectId: MaybeRefOrGetter<string>, filters: Readonly<Ref<TaskFilters>>) {
  const { $trpc } = useNuxtApp()
  const board = useBoardStore()
  // In the SSR payload: hydration must show the rows the server rendered (the load is not rerun).
  const ids = useState<string[]>(`task-list-ids-${toValue(projectId)}`, () => [])

  async function load() {
    const f = filters.value
    const tasks = await $trpc.task.list.query({
      projectId: toValue(projectId),
      status: f.status.length ? f.status : undefined,
      assigneeId: f.assignee === '' ? undefined : f.assignee === 'none' ? null : f.assignee,
      label: f.label.trim() || undefined,
      search: f.search.trim() || undefined,
    })
    if (board.projectId !== toValue(projectId)) board.setTasks(toValue(projectId), [])
    for (const t of tasks) board.upsert(t)
    ids.value = tasks.map(t => t.id)
  }

  // Rows read from the board store, so remote edits and deletions show at once; a remote task
  // change can also add or drop rows for these filters, so the list is asked again, once per burst.
  const realtime = useRealtimeStore()
  let reload: ReturnType<typeof setTimeout> | undefined
  watch(() => realtime.taskChanges[toValue(projectId)], () => {
    clearTimeout(reload)
    reload = setTimeout(() => void load().catch(() => {}), 300)
  })
  onScopeDispose(() => clearTimeout(reload))

  const tasks = computed(() => ids.value.map(id => board.byId[id]).filter(t => !!t))
  return { tasks, load }
}
