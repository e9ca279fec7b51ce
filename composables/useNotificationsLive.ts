import { notificationText, type NotificationItem, type NotificationStreamEvent } from '~~/shared/schemas/notification'

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
