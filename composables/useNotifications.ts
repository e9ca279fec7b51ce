import {
  notificationLink,
  notificationText,
  type NotificationChannelName,
  type NotificationItem,
  type NotificationStreamEvent,
  type NotificationType,
} from '~~/shared/schemas/notification'
import type { NotificationFilter } from '~/stores/notifications'

/** A short, quiet two-note chime (Web Audio: no file to load). */
function chime() {
  try {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext
    if (!Ctx) return
    const ctx = new Ctx()
    const gain = ctx.createGain()
    gain.gain.setValueAtTime(0.06, ctx.currentTime)
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35)
    gain.connect(ctx.destination)
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = ctx.createOscillator()
      osc.frequency.value = freq
      osc.connect(gain)
      osc.start(ctx.currentTime + i * 0.09)
      osc.stop(ctx.currentTime + 0.35)
    }
    setTimeout(() => void ctx.close(), 600)
  }
  catch {
    // Autoplay policies may refuse before the first user gesture: a silent toast is fine.
  }
}

/** Toasts (and sounds) for at most this many notifications at once: a backlog after a reconnect is not a barrage. */
const MAX_TOASTS_PER_BURST = 3

let restarted = false
let stopLive: (() => void) | null = null

/**
 * The signed-in user's live notifications (used once, by NotificationLive in the layout): the badge
 * count, the stream (resuming after the newest seq this tab has), a toast and an optional sound for
 * each new one (neither under do-not-disturb), and "(N)" before the page title.
 */
export function useNotificationsLive() {
  const nuxtApp = useNuxtApp()
  const store = useNotificationsStore()
  const auth = useAuthStore()
  const toast = useToast()
  const route = useRoute()

  // app.vue's template, with the unread count in front (a getter, so the title follows the count).
  useHead(() => {
    const unread = store.unreadCount
    return {
      titleTemplate: (title?: string) => {
        const base = title && title !== 'TaskTracker Pro' ? `${title} · TaskTracker Pro` : 'TaskTracker Pro'
        return unread > 0 ? `(${unread}) ${base}` : base
      },
    }
  })

  let burst = 0
  let burstTimer: ReturnType<typeof setTimeout> | null = null
  function announce(n: NotificationItem) {
    if (n.silent) return
    if (burst >= MAX_TOASTS_PER_BURST) return
    burst++
    burstTimer ??= setTimeout(() => {
      burst = 0
      burstTimer = null
    }, 2_000)
    toast.info(notificationText(n))
    if (store.sound) chime()
  }

  function onEvent(event: NotificationStreamEvent) {
    const news = store.apply(event)
    if (news) announce(news)
  }

  async function start() {
    if (stopLive || !auth.user) return
    const userId = auth.user.id
    const client = nuxtApp.$trpcWs
    let subscription: { unsubscribe: () => void } | null = null
    let stopped = false
    stopLive = () => {
      stopped = true
      subscription?.unsubscribe()
      stopLive = null
    }
    try {
      const [{ count, lastSeq }, prefs] = await Promise.all([
        nuxtApp.$trpc.notification.unreadCount.query(),
        nuxtApp.$trpc.notification.preferences.get.query(),
      ])
      if (stopped || auth.user?.id !== userId) return
      store.setUnread(count, lastSeq)
      store.sound = prefs.sound
    }
    catch {
      // The badge stays at what it was; the stream below still brings news.
    }
    if (stopped || !client) return
    subscription = client.notification.onEvent.subscribe({ lastEventId: String(store.lastSeq) }, {
      onData: ({ data }) => onEvent(data),
      onError: (err) => {
        stopLive?.()
        // BAD_REQUEST: our seq is ahead of the server's (a restored database): start over, once.
        if (errorCode(err) === 'BAD_REQUEST' && !restarted) {
          restarted = true
          store.reset()
          void start()
        }
      },
    })
  }

  /** Opening a task reads what it was about. */
  async function readTask(taskId: string) {
    const pending = store.items.filter(n => n.taskId === taskId && !n.readAt)
    const before = store.unreadCount
    for (const n of pending) store.patch(n.id, { readAt: new Date() })
    try {
      const { unreadCount } = await nuxtApp.$trpc.notification.markTaskRead.mutate({ taskId })
      store.setUnread(unreadCount)
    }
    catch {
      for (const n of pending) store.restore(n)
      store.setUnread(before)
    }
  }

  onMounted(() => {
    watch(() => auth.user?.id, (id) => {
      stopLive?.()
      store.reset()
      if (id) void start()
    }, { immediate: true })
    // Also when the count arrives after the page opened on a task (a link from elsewhere).
    watch(() => [route.query.task, store.unreadCount > 0] as const, ([task, anyUnread]) => {
      if (typeof task === 'string' && task && auth.user && anyUnread) void readTask(task)
    }, { immediate: true })
  })
  onBeforeUnmount(() => stopLive?.())

  return { unreadCount: computed(() => store.unreadCount) }
}

/** The notification center: pages of the list for a filter, and read / unread / archive with rollback. */
export function useNotifications() {
  const nuxtApp = useNuxtApp()
  const store = useNotificationsStore()
  const toast = useToast()
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function load(append = false) {
    loading.value = true
    error.value = null
    try {
      const f = store.filter
      const page = await nuxtApp.$trpc.notification.list.query({
        unread: f.unread || undefined,
        type: f.type ?? undefined,
        projectId: f.projectId ?? undefined,
        cursor: append ? store.nextCursor : undefined,
      })
      store.setPage(page.items, page.nextCursor, append)
    }
    catch (err) {
      error.value = errorMessage(err)
    }
    finally {
      loading.value = false
    }
  }

  function setFilter(next: Partial<NotificationFilter>) {
    store.filter = { ...store.filter, ...next }
    return load()
  }

  async function markRead(n: NotificationItem, read = true) {
    const before = store.patch(n.id, { readAt: read ? new Date() : null })
    const count = store.unreadCount
    store.setUnread(Math.max(0, count + (read ? -1 : 1)))
    try {
      store.setUnread((await nuxtApp.$trpc.notification.markRead.mutate({ ids: [n.id], read })).unreadCount)
    }
    catch (err) {
      if (before) store.restore(before)
      store.setUnread(count)
      toast.error(`Could not update the notification: ${errorMessage(err)}`)
    }
  }

  async function markAllRead() {
    const previous = store.items.filter(n => !n.readAt)
    const count = store.unreadCount
    for (const n of previous) store.patch(n.id, { readAt: new Date() })
    store.setUnread(0)
    if (store.filter.unread) store.setPage([], null, false)
    try {
      await nuxtApp.$trpc.notification.markAllRead.mutate()
    }
    catch (err) {
      for (const n of previous) store.restore(n)
      store.setUnread(count)
      toast.error(`Could not mark everything read: ${errorMessage(err)}`)
    }
  }

  async function archive(n: NotificationItem) {
    const before = store.patch(n.id, { archivedAt: new Date() })
    try {
      store.setUnread((await nuxtApp.$trpc.notification.archive.mutate({ ids: [n.id], archived: true })).unreadCount)
    }
    catch (err) {
      if (before) store.restore(before)
      toast.error(`Could not archive the notification: ${errorMessage(err)}`)
    }
  }

  return {
    items: computed(() => store.items),
    filter: computed(() => store.filter),
    hasMore: computed(() => store.nextCursor !== null),
    loaded: computed(() => store.loaded),
    loading,
    error,
    load,
    setFilter,
    markRead,
    markAllRead,
    archive,
    linkOf: notificationLink,
    textOf: notificationText,
  }
}

type PreferenceRow = { type: Exclude<NotificationType, 'summary'>, channel: NotificationChannelName, enabled: boolean, isDefault: boolean }
type MuteRow = Awaited<ReturnType<ReturnType<typeof useNuxtApp>['$trpc']['notification']['mutes']['query']>>[number]

/** The settings page: preferences per type × channel, the sound switch, and mutes. */
export function useNotificationSettings() {
  const nuxtApp = useNuxtApp()
  const store = useNotificationsStore()
  const toast = useToast()
  const preferences = useState<PreferenceRow[]>('notification-preferences', () => [])
  const mutes = useState<MuteRow[]>('notification-mutes', () => [])

  async function load() {
    const [prefs, list] = await Promise.all([
      nuxtApp.$trpc.notification.preferences.get.query(),
      nuxtApp.$trpc.notification.mutes.query(),
    ])
    preferences.value = prefs.preferences
    store.sound = prefs.sound
    mutes.value = list
  }

  async function setPreference(type: PreferenceRow['type'], channel: NotificationChannelName, enabled: boolean) {
    const before = preferences.value
    preferences.value = before.map(p => (p.type === type && p.channel === channel ? { ...p, enabled, isDefault: false } : p))
    try {
      preferences.value = (await nuxtApp.$trpc.notification.preferences.update.mutate({ preferences: [{ type, channel, enabled }] })).preferences
    }
    catch (err) {
      preferences.value = before
      toast.error(`Could not save the preference: ${errorMessage(err)}`)
    }
  }

  async function setSound(on: boolean) {
    const before = store.sound
    store.sound = on
    try {
      await nuxtApp.$trpc.notification.preferences.update.mutate({ sound: on })
    }
    catch (err) {
      store.sound = before
      toast.error(`Could not save the sound setting: ${errorMessage(err)}`)
    }
  }

  async function mute(input: { projectId?: string, taskId?: string, until: Date | null }) {
    try {
      const created = await nuxtApp.$trpc.notification.mute.mutate(input)
      mutes.value = [created, ...mutes.value.filter(m => !(m.projectId === created.projectId && m.taskId === created.taskId))]
      toast.success('Muted')
    }
    catch (err) {
      toast.error(`Could not mute: ${errorMessage(err)}`)
    }
  }

  async function unmute(id: string) {
    const before = mutes.value
    mutes.value = before.filter(m => m.id !== id)
    try {
      await nuxtApp.$trpc.notification.unmute.mutate({ id })
    }
    catch (err) {
      mutes.value = before
      toast.error(`Could not unmute: ${errorMessage(err)}`)
    }
  }

  return { preferences, sound: computed(() => store.sound), mutes, load, setPreference, setSound, mute, unmute }
}
