import { mountSuspended } from '@nuxt/test-utils/runtime'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import type { NotificationItem } from '~~/shared/schemas/notification'
import NotificationMentionMenu from '~/components/notification/NotificationMentionMenu.vue'
import { useNotificationsStore } from '~/stores/notifications'
import { useProjectsStore } from '~/stores/projects'
import type { Member } from '~/utils/api'

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

describe('mention autocomplete', () => {
  it('offers the project\'s members after @ and inserts the chosen username with the keyboard', async () => {
    const textarea = document.createElement('textarea')
    document.body.append(textarea)
    const member = (id: string, username: string, name: string) => ({ id, username, name, role: 'MEMBER', status: 'AVAILABLE', lastSeenAt: null, joinedAt: new Date() }) as unknown as Member
    const wrapper = await mountSuspended(NotificationMentionMenu, { props: { target: textarea }, attachTo: document.body })
    useProjectsStore().setMembers([member('u1', 'ben', 'Ben Okafor'), member('u2', 'bea', 'Bea Smith'), member('u3', 'cleo', 'Cleo')])
    let typed = ''
    textarea.addEventListener('input', () => (typed = textarea.value))

    textarea.value = 'ping @b'
    textarea.setSelectionRange(7, 7)
    textarea.dispatchEvent(new Event('input'))
    await nextTick()
    const options = () => [...document.querySelectorAll('[role="option"]')].map(o => o.textContent?.replace(/\s+/g, ' ').trim())
    expect(options()).toEqual(['Ben Okafor @ben', 'Bea Smith @bea'])
    expect(document.getElementById(textarea.getAttribute('aria-controls')!)?.getAttribute('role')).toBe('listbox')
    expect(textarea.hasAttribute('aria-expanded')).toBe(false)

    textarea.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', cancelable: true }))
    await nextTick()
    const enter = new KeyboardEvent('keydown', { key: 'Enter', cancelable: true })
    textarea.dispatchEvent(enter)
    await nextTick()
    expect(enter.defaultPrevented).toBe(true)
    expect(textarea.value).toBe('ping @bea ')
    expect(typed).toBe('ping @bea ')
    expect(options()).toEqual([])
    expect(textarea.hasAttribute('aria-controls')).toBe(false)
    expect(textarea.hasAttribute('aria-activedescendant')).toBe(false)

    // Not inside an email address.
    textarea.value = 'mail x@b'
    textarea.setSelectionRange(8, 8)
    textarea.dispatchEvent(new Event('input'))
    await nextTick()
    expect(options()).toEqual([])
    wrapper.unmount()
    textarea.remove()
  })
})
