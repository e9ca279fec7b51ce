import { notificationLink, notificationText, type NotificationItem } from '~~/shared/schemas/notification'
import type { NotificationFilter } from '~/stores/notifications'

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
