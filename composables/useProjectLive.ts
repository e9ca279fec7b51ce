import { EVENT_WIRE_COMPACT, fromWireEvent, type ProjectEvent } from '~~/shared/events'
import { liveAnnouncementText } from '~/utils/liveAnnouncement'
import { applyProjectEvent, memberToastText, statusToastText } from '~/utils/projectEvents'

/**
 * Streams a project's events into the stores while the calling component is mounted. Starts after
 * `fromSeq`, the event seq of the data that was rendered (`project.byId().eventSeq`), so nothing
 * committed between the server render and hydration is missed. After a reconnect, tRPC's wsLink
 * resubscribes with the id of the last event it delivered; replays are dropped by seq, and a gap
 * (which the server should never let through) resubscribes from the last applied event.
 */
export function useProjectLive(projectId: MaybeRefOrGetter<string>, fromSeq: MaybeRefOrGetter<number | undefined>) {
  const nuxtApp = useNuxtApp()
  const board = useBoardStore()
  const projects = useProjectsStore()
  const realtime = useRealtimeStore()
  const auth = useAuthStore()
  const labels = useLabelsStore()
  const toast = useToast()
  const broadcastActivity = useActivityBroadcast()
  const { announce } = useLiveAnnouncer()

  let stop: (() => void) | null = null

  async function refetchTask(id: string) {
    try {
      board.upsert(await nuxtApp.$trpc.task.byId.query({ id }))
    }
    catch {
      // Deleted or out of reach since: its own event says so.
    }
  }

  async function refreshMembers(project: string) {
    projects.setMembers(await nuxtApp.$trpc.member.list.query({ projectId: project }))
  }

  async function refreshProject(project: string) {
    projects.setCurrent(await nuxtApp.$trpc.project.byId.query({ id: project }))
  }

  function handle(project: string, event: ProjectEvent) {
    const verdict = realtime.accept(project, event.seq)
    if (verdict === 'duplicate') return
    if (verdict === 'gap') {
      // The server heals gaps itself; should one still get through, ask again from the last applied event.
      start(project, realtime.lastSeq[project]!)
      return
    }
    // Before applying: the card still has the title the user knows.
    const toastCtx = {
      selfId: auth.user?.id ?? null,
      memberName: (userId: string) => projects.membersById[userId]?.name,
      taskTitle: (taskId: string) => board.byId[taskId]?.title,
    }
    const statusToast = statusToastText(event, toastCtx) ?? memberToastText(event, toastCtx)
    // A watcher may already have it as a notification toast (same words): once is enough.
    if (statusToast && !toast.toasts.value.some(t => t.message === statusToast)) toast.info(statusToast)
    announce(liveAnnouncementText(event, {
      ...toastCtx,
      projectKey: projects.current?.key,
      taskRef: (taskId: string) => {
        const t = board.byId[taskId]
        return t && projects.current ? `${projects.current.key}-${t.number}` : undefined
      },
    }))
    const effects = applyProjectEvent(board, event, {
      selfId: auth.user?.id ?? null,
      assignee: (userId) => {
        const m = projects.membersById[userId]
        return m ? { id: m.id, username: m.username, name: m.name } : undefined
      },
    })
    if (event.entityType === 'label') labels.applyEvent(event)
    if (effects.refetchTask) void refetchTask(effects.refetchTask)
    if (event.entityType === 'task') realtime.taskChanged(project)
    if (effects.commentOnTask) realtime.commented(effects.commentOnTask)
    broadcastActivity(project, event)
    if (effects.removedSelf) {
      toast.error('You were removed from this project.')
      projects.removeProject(project)
      void navigateTo('/')
      return
    }
    if (effects.members) void refreshMembers(project).catch(() => {})
    if (effects.project) void refreshProject(project).catch(() => {})
  }

  function start(project: string, seq: number) {
    stop?.()
    const client = nuxtApp.$trpcWs
    if (!client) return
    realtime.startAt(project, seq)
    // Compact frames (docs/websocket.md): expanded here, the one entry point; polling pages come named.
    const subscription = client.project.onEvent.subscribe({ projectId: project, lastEventId: String(seq), wire: EVENT_WIRE_COMPACT }, {
      onData: ({ id, data }) => handle(project, fromWireEvent(data, project, id)),
      onError: (err) => {
        // BAD_REQUEST: the log is behind what we rendered (restored database); the page must reload.
        toast.error(`Live updates stopped: ${errorMessage(err)} Reload the page to see the latest changes.`)
      },
    })
    stop = () => {
      subscription.unsubscribe()
      realtime.forget(project)
      stop = null
    }
  }

  onMounted(() => {
    watch(() => [toValue(projectId), toValue(fromSeq)] as const, ([project, seq], old) => {
      if (seq === undefined) return
      // A newer copy of the same project (settings saved) does not restart the stream.
      if (stop && old && old[0] === project) return
      start(project, seq)
    }, { immediate: true })
  })
  onBeforeUnmount(() => stop?.())
}
