import type { z } from 'zod'
import type { presenceTypingInput, presenceUpdateInput } from '~~/shared/schemas/presence'
import type { PresenceChange, PresenceMessage, PresenceStatus, TypingField } from '~/stores/presence'
import { systemClock, useIdle, type Clock } from '~/composables/useIdle'

/** What presence needs of the tab's socket client (`$trpcWs`); tests hand in a fake one. */
export interface PresenceClient {
  presence: {
    onProject: {
      subscribe: (input: { projectId: string }, observer: {
        onData: (message: PresenceMessage) => void
        onError: (err: unknown) => void
        onConnectionStateChange: (state: { state: 'idle' | 'connecting' | 'pending' }) => void
      }) => { unsubscribe: () => void }
    }
    update: { mutate: (input: z.input<typeof presenceUpdateInput>) => Promise<unknown> }
    typing: { mutate: (input: z.input<typeof presenceTypingInput>) => Promise<unknown> }
  }
}

export interface PresenceView {
  /** the task open in this tab (`?task=`) */
  taskId: string | null
  /** this tab is idle or hidden */
  idle: boolean
}

/** Typing signals go out at most this often per task field; the server keeps one for 5 s. */
export const TYPING_INTERVAL_MS = 2_000
/** A member who comes and goes (or goes and comes back) within this time gets no toast. */
export const PRESENCE_TOAST_DELAY_MS = 4_000

/**
 * One tab's presence in one project: subscribes to `presence.onProject` into the store, and tells
 * the server what this tab shows. The view is sent again after every snapshot, since a snapshot
 * follows each (re)subscription and a new connection starts with no view on the server.
 */
export function createPresenceSession(options: {
  client: PresenceClient
  projectId: string
  store: ReturnType<typeof usePresenceStore>
  view?: PresenceView
  /** joins and leaves after the first snapshot */
  onChange?: (change: PresenceChange) => void
  onError?: (err: unknown) => void
}) {
  const { client, projectId, store } = options
  let view: PresenceView = options.view ?? { taskId: null, idle: false }
  /** a snapshot arrived on the current connection: the server accepts updates */
  let ready = false
  let sent: string | null = null

  function send() {
    const key = JSON.stringify(view)
    if (!ready || key === sent) return
    sent = key
    client.presence.update.mutate({ projectId, taskId: view.taskId, idle: view.idle }).catch(() => {
      // The connection went away meanwhile: the next snapshot sends the view again.
      if (sent === key) sent = null
    })
  }

  store.open(projectId)
  const subscription = client.presence.onProject.subscribe({ projectId }, {
    onData: (message) => {
      const change = store.apply(projectId, message)
      if (message.kind === 'snapshot') {
        ready = true
        sent = null
        send()
      }
      else if (change.joined.length || change.left.length) options.onChange?.(change)
    },
    onError: err => options.onError?.(err),
    onConnectionStateChange: ({ state }) => {
      if (state !== 'pending') ready = false
    },
  })

  return {
    setView(next: Partial<PresenceView>) {
      view = { ...view, ...next }
      send()
    },
    stop() {
      subscription.unsubscribe()
      store.forget(projectId)
    },
  }
}

/**
 * "Ana is online" / "Ana left", held back for `delayMs`: someone reloading the page or passing
 * through for a moment gets no toast, neither does the signed-in user nor a quiet (DND) one.
 * Each is said at most once per person per `said` set (the tab's session): a reconnect, theirs
 * or ours, says nothing again; the avatars show who is there.
 */
export function createPresenceToasts(options: {
  selfId: () => string | null
  isOnline: (userId: string) => boolean
  notify: (message: string) => void
  quiet?: () => boolean
  delayMs?: number
  clock?: Clock
  said?: Set<string>
}) {
  const clock = options.clock ?? systemClock
  const delayMs = options.delayMs ?? PRESENCE_TOAST_DELAY_MS
  const said = options.said ?? new Set<string>()
  const pending = new Map<string, unknown>()

  function schedule(userId: string, online: boolean, message: string) {
    const waiting = pending.get(userId)
    if (waiting !== undefined) {
      // It undoes the change still waiting: nothing to say about either.
      clock.clearTimeout(waiting)
      pending.delete(userId)
      return
    }
    const key = `${online ? 'online' : 'left'}:${userId}`
    if (said.has(key)) return
    pending.set(userId, clock.setTimeout(() => {
      pending.delete(userId)
      if (options.isOnline(userId) !== online || options.quiet?.() || said.has(key)) return
      said.add(key)
      options.notify(message)
    }, delayMs))
  }

  return {
    changed(change: PresenceChange) {
      const self = options.selfId()
      for (const m of change.left) if (m.userId !== self) schedule(m.userId, false, `${m.name} left`)
      for (const m of change.joined) if (m.userId !== self) schedule(m.userId, true, `${m.name} is online`)
    },
    clear() {
      for (const timer of pending.values()) clock.clearTimeout(timer)
      pending.clear()
    },
  }
}

/** True when a typing signal for `key` may go out now (one per `intervalMs` per key). */
export function createTypingThrottle(options: { intervalMs?: number, clock?: Pick<Clock, 'now'> } = {}) {
  const intervalMs = options.intervalMs ?? TYPING_INTERVAL_MS
  const clock = options.clock ?? systemClock
  const last = new Map<string, number>()
  return (key: string): boolean => {
    const now = clock.now()
    const before = last.get(key)
    if (before !== undefined && now - before < intervalMs) return false
    last.set(key, now)
    return true
  }
}

/** Presence toasts this tab has shown (its session): across projects, reconnects and remounts. */
const presenceToastsSaid = new Set<string>()

const openTask = (value: unknown) => (typeof value === 'string' && value ? value : null)

/**
 * The open project's presence while the calling component is mounted (the project header): the
 * stream into the store, this tab's open task and idleness to the server, toasts for comings and
 * goings. `wsLink` resubscribes after a reconnect; the new snapshot replaces the state.
 */
export function usePresence(projectId: MaybeRefOrGetter<string>, options: { client?: PresenceClient | null, clock?: Clock } = {}) {
  const nuxtApp = useNuxtApp()
  const store = usePresenceStore()
  const auth = useAuthStore()
  const route = useRoute()
  const toast = useToast()
  const { inactive } = useIdle({ clock: options.clock })
  const taskId = computed(() => openTask(route.query.task))

  const toasts = createPresenceToasts({
    selfId: () => auth.user?.id ?? null,
    isOnline: userId => !!store.stateOf(userId),
    notify: message => toast.info(message),
    quiet: () => (store.myStatus ?? auth.user?.status.toLowerCase()) === 'dnd',
    clock: options.clock,
    said: presenceToastsSaid,
  })
  let session: ReturnType<typeof createPresenceSession> | null = null

  onMounted(() => {
    const client: PresenceClient | null = options.client === undefined ? nuxtApp.$trpcWs : options.client
    if (!client) return
    watch(() => toValue(projectId), (project) => {
      session?.stop()
      toasts.clear()
      session = createPresenceSession({
        client,
        projectId: project,
        store,
        view: { taskId: taskId.value, idle: inactive.value },
        onChange: change => toasts.changed(change),
        // NOT_FOUND when the user was removed: the project stream takes them away from the page.
        onError: () => {},
      })
    }, { immediate: true })
    watch([taskId, inactive], ([task, idle]) => session?.setView({ taskId: task, idle }))
  })
  onBeforeUnmount(() => {
    session?.stop()
    session = null
    toasts.clear()
  })
}

/**
 * Sends `presence.typing` for a task field at most once per `intervalMs` (leading edge: the first
 * keystroke goes out at once); the server shows it for 5 s after the last one.
 */
export function createTypingSender(options: { client: PresenceClient, intervalMs?: number, clock?: Pick<Clock, 'now'> }) {
  const allowed = createTypingThrottle({ intervalMs: options.intervalMs, clock: options.clock })
  return (projectId: string, taskId: string, field: TypingField) => {
    if (!allowed(`${projectId}:${taskId}:${field}`)) return
    options.client.presence.typing.mutate({ projectId, taskId, field }).catch(() => {
      // Best effort: a lost typing signal only means the line does not show.
    })
  }
}

/**
 * Returns `typing()`, to call on each input in the open task's description or comment box: tells
 * the project's other members, at most once per 2 s, and only over a live socket (a signal queued
 * while offline would arrive stale).
 */
export function usePresenceTyping(field: TypingField) {
  const nuxtApp = useNuxtApp()
  const route = useRoute()
  const store = usePresenceStore()
  const realtime = useRealtimeStore()
  const client: PresenceClient | null = nuxtApp.$trpcWs
  const send = client ? createTypingSender({ client }) : null
  return function typing() {
    const projectId = store.currentProjectId
    const taskId = openTask(route.query.task)
    if (send && projectId && taskId && realtime.status === 'live') send(projectId, taskId, field)
  }
}

/** The signed-in user's chosen status (all tabs): shown at once, put back if the server refuses. */
export function useMyStatus() {
  const nuxtApp = useNuxtApp()
  const store = usePresenceStore()
  const auth = useAuthStore()
  const toast = useToast()
  const status = computed<PresenceStatus>(() => store.myStatus ?? (auth.user?.status.toLowerCase() as PresenceStatus | undefined) ?? 'available')

  /** What others see: auto-away included, while a project page shows this user's presence. */
  const shown = computed<PresenceStatus>(() => (auth.user ? store.stateOf(auth.user.id)?.status : undefined) ?? status.value)

  async function refresh() {
    const client = nuxtApp.$trpcWs
    if (!client) return
    try {
      store.setMyStatus((await client.presence.myStatus.query()).status)
    }
    catch {
      // Keeps what it showed; the next open asks again.
    }
  }

  async function set(next: PresenceStatus) {
    const client = nuxtApp.$trpcWs
    const before = store.myStatus
    store.setMyStatus(next)
    try {
      if (!client) throw new Error('Live updates are not available in this browser.')
      await client.presence.setStatus.mutate({ status: next })
    }
    catch (err) {
      store.setMyStatus(before)
      toast.error(`Could not change your status: ${errorMessage(err)}`)
    }
  }

  return { status, shown, refresh, set }
}
