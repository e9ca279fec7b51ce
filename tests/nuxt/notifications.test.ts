import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { NotificationItem } from '~~/shared/schemas/notification'
import { useNotificationsStore } from '~/stores/notifications'

function item(overrides: Partial<NotificationItem> & Pick<NotificationItem, 'id' | 'seq'>): NotificationItem {
  const at = new Date('2026-11-26T10:00:00Z')
  return {
    type: 'assigned',
    projectId: 'p1',
    taskId: 't1',
    count: 1,
    actorCount: 1,
    latestActor: { id: 'u1', username: 'ana', name: 'Ana' },
    data: { taskTitle: 'Fix login' },
    silent: false,
    readAt: null,
    archivedAt: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  }
}

describe('notifications store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('puts streamed notifications first, moves a merged one to the top, and takes the badge from the event', () => {
    const store = useNotificationsStore()
    store.setPage([item({ id: 'b', seq: 2 }), item({ id: 'a', seq: 1 })], null, false)
    expect(store.apply({ kind: 'notification', notification: item({ id: 'c', seq: 3 }), unreadCount: 3 })?.id).toBe('c')
    expect(store.items.map(n => n.id)).toEqual(['c', 'b', 'a'])
    expect(store.unreadCount).toBe(3)
    expect(store.lastSeq).toBe(3)
    // "a" merged a new comment: it comes back with a newer seq and goes to the top.
    store.apply({ kind: 'notification', notification: item({ id: 'a', seq: 4, count: 2 }), unreadCount: 3 })
    expect(store.items.map(n => n.id)).toEqual(['a', 'c', 'b'])
    expect(store.byId.a!.count).toBe(2)
  })

  it('ignores a replayed notification (same or older seq) so it is not announced twice', () => {
    const store = useNotificationsStore()
    const n = item({ id: 'a', seq: 5 })
    expect(store.apply({ kind: 'notification', notification: n, unreadCount: 1 })).not.toBeNull()
    expect(store.apply({ kind: 'notification', notification: n, unreadCount: 1 })).toBeNull()
    expect(store.items).toHaveLength(1)
  })

  it('applies read and archive changes made in another tab, and respects the unread filter', () => {
    const store = useNotificationsStore()
    store.filter = { unread: true, type: null, projectId: null }
    store.setPage([item({ id: 'b', seq: 2 }), item({ id: 'a', seq: 1 })], null, false)
    store.apply({ kind: 'state', ids: ['a'], read: true, unreadCount: 1 })
    expect(store.items.map(n => n.id)).toEqual(['b'])
    expect(store.byId.a!.readAt).toBeInstanceOf(Date)
    expect(store.unreadCount).toBe(1)
    store.apply({ kind: 'state', ids: 'all', read: true, unreadCount: 0 })
    expect(store.items).toEqual([])
    expect(store.unreadCount).toBe(0)
  })

  it('rolls an optimistic change back', () => {
    const store = useNotificationsStore()
    store.setPage([item({ id: 'a', seq: 1 })], null, false)
    const before = store.patch('a', { archivedAt: new Date() })
    expect(store.items).toEqual([])
    store.restore(before!)
    expect(store.items.map(n => n.id)).toEqual(['a'])
    expect(store.byId.a!.archivedAt).toBeNull()
  })
})
