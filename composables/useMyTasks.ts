import { fromWireEvent, type ProjectEvent } from '~~/shared/events'
import type { Task } from '~/utils/api'
import { applyMyTaskEvent } from '~/utils/myTasks'

interface Follow {
  seq: number
  stop: () => void
}

/**
 * "My tasks": loads what is assigned to the signed-in user, then keeps it live over the tab's one
 * socket with one `project.onEvent` subscription per project (the same durable streams a board uses,
 * resumed by seq after a reconnect). A project the user joins later shows up through their own
 * notification stream: an assignment or membership notification for a project not followed yet
 * reloads the list and follows it too. No polling.
 */
export function useMyTasks() {
  const nuxtApp = useNuxtApp()
  const store = useMyTasksStore()
  const auth = useAuthStore()
  const notifications = useNotificationsStore()
  const toast = useToast()
  const follows = new Map<string, Follow>()

  const labels = useLabelsStore()

  async function load() {
    const data = await nuxtApp.$trpc.task.mine.query()
    store.set(data)
    labels.setMany(data.projects.map(p => p.id), data.labels)
  }

  async function fetchTask(id: string) {
    try {
      const task: Task = await nuxtApp.$trpc.task.byId.query({ id })
      if (task.assigneeId === auth.user?.id) store.upsert(task)
      else store.remove(id)
    }
    catch {
      // Deleted or out of reach since: its own event says so.
    }
  }

  function unfollow(projectId: string) {
    follows.get(projectId)?.stop()
    follows.delete(projectId)
  }

  function handle(projectId: string, follow: Follow, event: ProjectEvent) {
    if (event.seq <= follow.seq) return
    if (event.seq > follow.seq + 1) {
      // The server heals gaps itself; should one still get through, ask again from the last applied event.
      start(projectId, follow.seq)
      return
    }
    follow.seq = event.seq
    const selfId = auth.user?.id
    if (!selfId) return
    labels.applyEvent(event)
    const effects = applyMyTaskEvent(store, event, selfId)
    if (effects.fetch) void fetchTask(effects.fetch)
    if (effects.leftProject) {
      unfollow(projectId)
      store.removeProject(projectId)
    }
  }

  function start(projectId: string, seq: number) {
    unfollow(projectId)
    const client = nuxtApp.$trpcWs
    if (!client) return
    const follow: Follow = { seq, stop: () => {} }
    const subscription = client.project.onEvent.subscribe({ projectId, lastEventId: String(seq) }, {
      onData: ({ data }) => handle(projectId, follow, fromWireEvent(data)),
      onError: (err) => {
        const name = store.projectsById[projectId]?.name ?? 'a project'
        toast.error(`Live updates from ${name} stopped: ${errorMessage(err)} Reload the page to see the latest changes.`)
      },
    })
    follow.stop = () => subscription.unsubscribe()
    follows.set(projectId, follow)
  }

  /** Follows every project of the list not followed yet, from the seq its tasks were read at. */
  function followAll() {
    for (const project of Object.values(store.projectsById)) {
      if (!follows.has(project.id)) start(project.id, project.eventSeq)
    }
    for (const id of [...follows.keys()]) if (!store.projectsById[id]) unfollow(id)
  }

  async function reload() {
    await load()
    followAll()
  }

  if (import.meta.client && getCurrentInstance()) {
    let midnight: ReturnType<typeof setTimeout> | undefined
    /** Regroups at the next local midnight: "Today" becomes "Overdue" in a tab left open overnight. */
    function scheduleMidnight() {
      const now = new Date()
      const next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1)
      midnight = setTimeout(() => {
        store.tick()
        scheduleMidnight()
      }, next.getTime() - now.getTime() + 1000)
    }
    onMounted(() => {
      store.tick()
      followAll()
      scheduleMidnight()
      watch(() => notifications.items[0], (newest) => {
        if (!newest?.projectId || follows.has(newest.projectId)) return
        if (newest.type === 'assigned' || newest.type === 'member_added') void reload().catch(() => {})
      })
    })
    onBeforeUnmount(() => {
      clearTimeout(midnight)
      for (const id of [...follows.keys()]) unfollow(id)
    })
  }

  return {
    groups: computed(() => store.groups),
    count: computed(() => store.ids.length),
    projectsById: computed(() => store.projectsById),
    load,
    reload,
  }
}
