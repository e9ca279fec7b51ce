import type { NotificationItem, NotificationStreamEvent, NotificationType } from '~~/shared/schemas/notification'

export interface NotificationFilter {
  unread: boolean
  type: NotificationType | null
  projectId: string | null
}

function matches(n: NotificationItem, f: NotificationFilter): boolean {
  if (n.archivedAt) return false
  if (f.unread && n.readAt) return false
  if (f.type && n.type !== f.type) return false
  if (f.projectId && n.projectId !== f.projectId) return false
  return true
}

/** The signed-in user's notifications: the badge, and the center's current page(s) for its filter. */
export const useNotificationsStore = defineStore('notifications', () => {
  const byId = ref<Record<string, NotificationItem>>({})
  /** newest activity first (seq descending) */
  const ids = ref<string[]>([])
  const unreadCount = ref(0)
  /** the newest seq this tab has seen: the live stream resumes after it */
  const lastSeq = ref(0)
  const nextCursor = ref<number | null>(null)
  const loaded = ref(false)
  const filter = ref<NotificationFilter>({ unread: false, type: null, projectId: null })
  /** the user's "play a sound" preference */
  const sound = ref(true)

  const items = computed(() => ids.value.map(id => byId.value[id]!).filter(Boolean))

  function sortIds() {
    ids.value = [...new Set(ids.value)].sort((a, b) => byId.value[b]!.seq - byId.value[a]!.seq)
  }

  function setPage(page: NotificationItem[], cursor: number | null, append: boolean) {
    if (!append) {
      byId.value = {}
      ids.value = []
    }
    for (const n of page) byId.value[n.id] = n
    ids.value = [...ids.value, ...page.map(n => n.id)]
    sortIds()
    nextCursor.value = cursor
    loaded.value = true
  }

  function setUnread(count: number, seq?: number) {
    unreadCount.value = count
    if (seq !== undefined && seq > lastSeq.value) lastSeq.value = seq
  }

  /** A streamed change; returns the notification when it is news (new, or merged into an unread one). */
  function apply(event: NotificationStreamEvent): NotificationItem | null {
    unreadCount.value = event.unreadCount
    if (event.kind === 'state') {
      const targets = event.ids === 'all' ? Object.keys(byId.value) : event.ids
      for (const id of targets) {
        const n = byId.value[id]
        if (!n) continue
        const next = { ...n }
        if (event.read !== undefined) next.readAt = event.read ? (n.readAt ?? new Date()) : null
        if (event.archived !== undefined) next.archivedAt = event.archived ? (n.archivedAt ?? new Date()) : null
        byId.value[id] = next
        if (!matches(next, filter.value)) ids.value = ids.value.filter(x => x !== id)
      }
      return null
    }
    const n = event.notification
    const known = byId.value[n.id]
    if (known && known.seq >= n.seq) return null
    if (n.seq > lastSeq.value) lastSeq.value = n.seq
    byId.value[n.id] = n
    if (matches(n, filter.value)) {
      ids.value = [n.id, ...ids.value]
      sortIds()
    }
    else {
      ids.value = ids.value.filter(x => x !== n.id)
    }
    return n.readAt ? null : n
  }

  /** Local change (optimistic); returns what it replaced, for rollback. */
  function patch(id: string, change: Partial<Pick<NotificationItem, 'readAt' | 'archivedAt'>>): NotificationItem | undefined {
    const before = byId.value[id]
    if (!before) return undefined
    byId.value[id] = { ...before, ...change }
    if (change.archivedAt) ids.value = ids.value.filter(x => x !== id)
    return before
  }

  function restore(previous: NotificationItem) {
    byId.value[previous.id] = previous
    if (!ids.value.includes(previous.id) && matches(previous, filter.value)) {
      ids.value.push(previous.id)
      sortIds()
    }
  }

  function reset() {
    byId.value = {}
    ids.value = []
    unreadCount.value = 0
    lastSeq.value = 0
    nextCursor.value = null
    loaded.value = false
  }

  return { byId, ids, items, unreadCount, lastSeq, nextCursor, loaded, filter, sound, setPage, setUnread, apply, patch, restore, reset }
})
