import type { ProjectEvent } from '~~/shared/events'
import { eventToActivityItem, isAboutTask, mergeActivity, type ActivityItem, type ActivityNames, type EventLookup } from '~/utils/activity'

type ProjectEventListener = (projectId: string, event: ProjectEvent) => void

/** Open feeds per app instance (never shared between server-side requests). */
const listeners = new WeakMap<object, Set<ProjectEventListener>>()

/**
 * For useProjectLive: hands each applied live event to the activity feeds open in this tab, so
 * they prepend it without asking the server again (one event, no refetch storm).
 */
export function useActivityBroadcast(): ProjectEventListener {
  const app = useNuxtApp()
  return (projectId, event) => listeners.get(app)?.forEach(fn => fn(projectId, event))
}

/** Names resolved from the open project's members, so feeds show current names. */
export function useActivityNames(): ActivityNames {
  const projects = useProjectsStore()
  return { member: userId => projects.membersById[userId]?.name }
}

/**
 * A project's activity (or one task's, with `taskId`), newest first: the first page on mount,
 * older pages with `loadMore`, live entries prepended from `project.onEvent` as they are applied.
 */
export function useActivity(projectId: MaybeRefOrGetter<string>, taskId?: MaybeRefOrGetter<string | null | undefined>, pageSize = 30) {
  const app = useNuxtApp()
  const { $trpc } = app
  const projects = useProjectsStore()
  const board = useBoardStore()

  const items = ref<ActivityItem[]>([])
  const nextCursor = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)
  const loadingMore = ref(false)
  const error = ref<unknown>(null)
  // A load answered after the project or task changed belongs to the old one.
  let generation = 0

  const filter = () => {
    const task = toValue(taskId)
    return { projectId: toValue(projectId), ...(task ? { taskId: task } : {}) }
  }

  async function load() {
    const gen = ++generation
    loading.value = true
    error.value = null
    try {
      const page = await $trpc.activity.list.query({ ...filter(), limit: pageSize })
      if (gen !== generation) return
      items.value = mergeActivity(items.value, page.items)
      nextCursor.value = page.nextCursor
      loaded.value = true
    }
    catch (err) {
      if (gen === generation) error.value = err
    }
    finally {
      if (gen === generation) loading.value = false
    }
  }

  async function loadMore() {
    const cursor = nextCursor.value
    if (!cursor || loadingMore.value) return
    const gen = generation
    loadingMore.value = true
    error.value = null
    try {
      const page = await $trpc.activity.list.query({ ...filter(), cursor, limit: pageSize })
      if (gen !== generation) return
      items.value = mergeActivity(items.value, page.items)
      nextCursor.value = page.nextCursor
    }
    catch (err) {
      if (gen === generation) error.value = err
    }
    finally {
      loadingMore.value = false
    }
  }

  const lookup: EventLookup = {
    member: (userId) => {
      const m = projects.membersById[userId]
      return m ? { id: m.id, username: m.username, name: m.name } : undefined
    },
    task: (id) => {
      const t = board.byId[id]
      if (t) return { title: t.title, key: projects.current && t.number ? `${projects.current.key}-${t.number}` : null }
      // Not on the board (the activity page alone): an earlier entry of the feed may name it.
      const known = items.value.find(i => i.target.taskId === id && i.target.title !== null)?.target
      return known ? { title: known.title!, key: known.key } : undefined
    },
    get projectKey() {
      return projects.current?.key ?? null
    },
  }

  function onEvent(project: string, event: ProjectEvent) {
    if (project !== toValue(projectId)) return
    const item = eventToActivityItem(event, lookup)
    const task = toValue(taskId)
    if (task && !isAboutTask(item, task)) return
    items.value = mergeActivity([item], items.value)
  }

  function reset() {
    generation++
    items.value = []
    nextCursor.value = null
    loaded.value = false
    loadingMore.value = false
  }

  onMounted(() => {
    let set = listeners.get(app)
    if (!set) listeners.set(app, (set = new Set()))
    set.add(onEvent)
    void load()
    watch(() => JSON.stringify(filter()), () => {
      reset()
      void load()
    })
  })
  onBeforeUnmount(() => {
    listeners.get(app)?.delete(onEvent)
  })

  return { items, nextCursor, loading, loaded, loadingMore, error, load, loadMore }
}
