import { mountSuspended } from '@nuxt/test-utils/runtime'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h, nextTick } from 'vue'
import { IDLE_AFTER_MS, type Clock } from '~/composables/useIdle'
import { createPresenceSession, createTypingSender, PRESENCE_TOAST_DELAY_MS, TYPING_INTERVAL_MS, usePresence, type PresenceClient } from '~/composables/usePresence'
import { useToast } from '~/composables/useToast'
import { useAuthStore } from '~/stores/auth'
import { describePresence, lastSeenText, typingText, usePresenceStore, type PresenceMessage, type PresenceState } from '~/stores/presence'
import { manualClock } from './manualClock'

/** The socket client as presence uses it: the test plays the server's messages and reads what was sent. */
function fakeSocket() {
  const updates: unknown[] = []
  const typing: unknown[] = []
  const subscriptions: { input: { projectId: string }, active: boolean }[] = []
  let observer: Parameters<PresenceClient['presence']['onProject']['subscribe']>[1] | null = null
  const client: PresenceClient = {
    presence: {
      onProject: {
        subscribe: (input, obs) => {
          observer = obs
          const sub = { input, active: true }
          subscriptions.push(sub)
          return { unsubscribe: () => void (sub.active = false) }
        },
      },
      update: { mutate: async input => void updates.push(input) },
      typing: { mutate: async input => void typing.push(input) },
    },
  }
  return {
    client,
    updates,
    typing,
    subscriptions,
    send: (message: PresenceMessage) => observer!.onData(message),
    connection: (state: 'idle' | 'connecting' | 'pending') => observer!.onConnectionStateChange({ state }),
  }
}

const at = (iso: string) => new Date(iso)
function person(userId: string, name: string, over: Partial<PresenceState> = {}): PresenceState {
  return { userId, username: name.toLowerCase(), name, status: 'available', taskIds: [], typing: [], onlineSince: at('2026-11-26T01:00:00Z'), ...over }
}

function signIn(id: string, name: string) {
  useAuthStore().setUser({ id, email: `${id}@example.test`, username: id, name, status: 'AVAILABLE', timezone: 'UTC' })
}

const toastMessages = () => useToast().toasts.value.map(t => t.message)

beforeEach(() => {
  setActivePinia(createPinia())
  useToast().toasts.value = []
})

describe('presence store', () => {
  it('applies a snapshot, then joins, leaves (with last seen), status, viewing and typing', () => {
    const store = usePresenceStore()
    store.open('p1')
    const ana = person('ana', 'Ana', { onlineSince: at('2026-11-26T00:50:00Z') })
    const ben = person('ben', 'Ben')

    expect(store.apply('p1', { kind: 'snapshot', members: [ben, ana] })).toEqual({ joined: [], left: [] })
    expect(store.members.map(m => m.name)).toEqual(['Ana', 'Ben'])

    // Cy comes online; Ana goes away and opens a task; Ben types in its description.
    const cy = person('cy', 'Cy')
    const change = store.apply('p1', {
      kind: 'patch',
      upsert: [cy, { ...ana, status: 'away', taskIds: ['t1'] }, { ...ben, taskIds: ['t1'], typing: [{ taskId: 't1', field: 'description' }] }],
      offline: [],
    })
    expect(change.joined.map(m => m.name)).toEqual(['Cy'])
    expect(change.left).toEqual([])
    expect(store.stateOf('ana')?.status).toBe('away')
    expect(store.viewersOf('t1').map(m => m.name)).toEqual(['Ana', 'Ben'])
    expect(store.viewersOf('t1', 'ben').map(m => m.name)).toEqual(['Ana'])
    expect(store.typingIn('t1', 'description').map(m => m.name)).toEqual(['Ben'])
    expect(store.typingIn('t1', 'comment')).toEqual([])

    // Ben stops typing (the server expired it); Ana leaves.
    const left = store.apply('p1', {
      kind: 'patch',
      upsert: [{ ...ben, taskIds: ['t1'] }],
      offline: [{ userId: 'ana', lastSeenAt: at('2026-11-26T01:10:00Z') }],
    })
    expect(left.left.map(m => m.name)).toEqual(['Ana'])
    expect(store.typingIn('t1', 'description')).toEqual([])
    expect(store.members.map(m => m.name)).toEqual(['Ben', 'Cy'])
    expect(store.lastSeen.ana).toEqual(at('2026-11-26T01:10:00Z'))
    expect(lastSeenText(store.lastSeen.ana!, at('2026-11-26T01:15:20Z').getTime())).toBe('last seen 5 min ago')

    // A new snapshot (after a reconnect) replaces everything.
    store.apply('p1', { kind: 'snapshot', members: [cy] })
    expect(store.members.map(m => m.name)).toEqual(['Cy'])
    // Leaving the page forgets the project's presence.
    store.forget('p1')
    expect(store.members).toEqual([])
    expect(store.membersOf('p1')).toEqual([])
  })

  it('names people the way avatars and the typing line say them', () => {
    const ana = person('ana', 'Ana', { taskIds: ['t1'] })
    expect(describePresence(ana, id => (id === 't1' ? 'WEB-12' : undefined))).toBe('Ana — online, viewing WEB-12')
    expect(describePresence({ ...ana, status: 'away', taskIds: [] }, () => undefined)).toBe('Ana — away')
    expect(describePresence({ ...ana, status: 'dnd', typing: [{ taskId: 't1', field: 'comment' }] }, () => 'WEB-12'))
      .toBe('Ana — online, do not disturb, viewing WEB-12, typing in WEB-12')
    expect(typingText([])).toBe('')
    expect(typingText(['Ana'])).toBe('Ana is typing…')
    expect(typingText(['Ana', 'Ben'])).toBe('Ana and Ben are typing…')
    expect(typingText(['Ana', 'Ben', 'Cy'])).toBe('Ana, Ben and Cy are typing…')
    expect(typingText(['Ana', 'Ben', 'Cy', 'Di', 'Ed'])).toBe('Ana, Ben and 3 others are typing…')
  })
})

describe('presence session', () => {
  it('tells the server what the tab shows after each snapshot, and only then', async () => {
    const socket = fakeSocket()
    const store = usePresenceStore()
    const session = createPresenceSession({ client: socket.client, projectId: 'p1', store, view: { taskId: 't1', idle: false } })
    expect(socket.subscriptions.map(s => s.input)).toEqual([{ projectId: 'p1' }])
    // Before the snapshot the server has no entry for this connection yet.
    session.setView({ taskId: 't2' })
    expect(socket.updates).toEqual([])

    socket.connection('pending')
    socket.send({ kind: 'snapshot', members: [person('me', 'Me', { taskIds: ['t2'] })] })
    expect(socket.updates).toEqual([{ projectId: 'p1', taskId: 't2', idle: false }])
    session.setView({ idle: true })
    session.setView({ idle: true })
    expect(socket.updates.at(-1)).toEqual({ projectId: 'p1', taskId: 't2', idle: true })
    expect(socket.updates).toHaveLength(2)

    // Connection lost: nothing is sent until the resubscription's snapshot, which gets the view again.
    socket.connection('connecting')
    session.setView({ taskId: null })
    expect(socket.updates).toHaveLength(2)
    socket.connection('pending')
    socket.send({ kind: 'snapshot', members: [] })
    expect(socket.updates.at(-1)).toEqual({ projectId: 'p1', taskId: null, idle: true })
    expect(socket.updates).toHaveLength(3)

    session.stop()
    expect(socket.subscriptions[0]!.active).toBe(false)
    expect(store.currentProjectId).toBeNull()
  })

  it('sends typing at most once per 2 s per task field', () => {
    const socket = fakeSocket()
    const clock = manualClock()
    const typing = createTypingSender({ client: socket.client, clock })
    expect(TYPING_INTERVAL_MS).toBe(2_000)

    typing('p1', 't1', 'description')
    for (let i = 0; i < 19; i++) {
      clock.advance(100)
      typing('p1', 't1', 'description')
    }
    expect(socket.typing).toHaveLength(1)
    // Another field or task is its own signal.
    typing('p1', 't1', 'comment')
    typing('p1', 't2', 'description')
    expect(socket.typing).toHaveLength(3)

    clock.advance(100) // 2 s after the first
    typing('p1', 't1', 'description')
    expect(socket.typing).toHaveLength(4)
    clock.advance(1_999)
    typing('p1', 't1', 'description')
    expect(socket.typing).toHaveLength(4)
    clock.advance(1)
    typing('p1', 't1', 'description')
    expect(socket.typing).toEqual([
      { projectId: 'p1', taskId: 't1', field: 'description' },
      { projectId: 'p1', taskId: 't1', field: 'comment' },
      { projectId: 'p1', taskId: 't2', field: 'description' },
      { projectId: 'p1', taskId: 't1', field: 'description' },
      { projectId: 'p1', taskId: 't1', field: 'description' },
    ])
  })
})

describe('usePresence in a page', () => {
  const mounted: { unmount: () => void }[] = []
  afterEach(() => mounted.splice(0).forEach(w => w.unmount()))

  async function mountPresence(socket: ReturnType<typeof fakeSocket>, clock: Clock) {
    const wrapper = await mountSuspended(defineComponent({
      setup() {
        usePresence('p1', { client: socket.client, clock })
        return () => h('div')
      },
    }))
    mounted.push(wrapper)
    return wrapper
  }

  it('toasts members coming and going, but not the first snapshot, not oneself, not a quick flap', async () => {
    const socket = fakeSocket()
    const clock = manualClock()
    await mountPresence(socket, clock)
    // After mounting: the component's stores are the Nuxt app's.
    signIn('me', 'Me')

    const ana = person('ana', 'Ana')
    socket.connection('pending')
    socket.send({ kind: 'snapshot', members: [ana] })
    // The server's snapshot may predate this connection's own entry, which then comes as a patch.
    socket.send({ kind: 'patch', upsert: [person('me', 'Me')], offline: [] })
    clock.advance(PRESENCE_TOAST_DELAY_MS * 2)
    expect(toastMessages()).toEqual([])
    expect(usePresenceStore().members.map(m => m.name)).toEqual(['Ana', 'Me'])

    // Ben comes online: said once the moment has passed.
    const ben = person('ben', 'Ben')
    socket.send({ kind: 'patch', upsert: [ben], offline: [] })
    expect(toastMessages()).toEqual([])
    clock.advance(PRESENCE_TOAST_DELAY_MS)
    expect(toastMessages()).toEqual(['Ben is online'])

    // Ana leaves.
    socket.send({ kind: 'patch', upsert: [], offline: [{ userId: 'ana', lastSeenAt: new Date(clock.now()) }] })
    clock.advance(PRESENCE_TOAST_DELAY_MS)
    expect(toastMessages()).toEqual(['Ben is online', 'Ana left'])

    // Ben reloads his page (gone and back within a second); Cy passes through for a second.
    socket.send({ kind: 'patch', upsert: [], offline: [{ userId: 'ben', lastSeenAt: new Date(clock.now()) }] })
    clock.advance(800)
    socket.send({ kind: 'patch', upsert: [ben], offline: [] })
    socket.send({ kind: 'patch', upsert: [person('cy', 'Cy')], offline: [] })
    clock.advance(1_000)
    socket.send({ kind: 'patch', upsert: [], offline: [{ userId: 'cy', lastSeenAt: new Date(clock.now()) }] })
    clock.advance(PRESENCE_TOAST_DELAY_MS * 3)
    expect(toastMessages()).toEqual(['Ben is online', 'Ana left'])
    expect(usePresenceStore().members.map(m => m.name).sort()).toEqual(['Ben', 'Me'])

    // Ben's connection drops for good, then he is back (a reconnect): he was announced already.
    socket.send({ kind: 'patch', upsert: [], offline: [{ userId: 'ben', lastSeenAt: new Date(clock.now()) }] })
    clock.advance(PRESENCE_TOAST_DELAY_MS * 3)
    socket.send({ kind: 'patch', upsert: [ben], offline: [] })
    clock.advance(PRESENCE_TOAST_DELAY_MS * 3)
    // So does a snapshot after our own reconnect.
    socket.send({ kind: 'snapshot', members: [ben, person('me', 'Me')] })
    clock.advance(PRESENCE_TOAST_DELAY_MS * 3)
    expect(toastMessages()).toEqual(['Ben is online', 'Ana left', 'Ben left'])

    // Nor does the signed-in user going (as the server sees it).
    socket.send({ kind: 'patch', upsert: [], offline: [{ userId: 'me', lastSeenAt: new Date(clock.now()) }] })
    clock.advance(PRESENCE_TOAST_DELAY_MS * 3)
    expect(toastMessages()).toEqual(['Ben is online', 'Ana left', 'Ben left'])
  })

  it('tells the server the tab went idle after 5 minutes, and active again on input', async () => {
    const socket = fakeSocket()
    const clock = manualClock()
    await mountPresence(socket, clock)
    // After mounting: the component's stores are the Nuxt app's.
    signIn('me', 'Me')
    socket.connection('pending')
    socket.send({ kind: 'snapshot', members: [person('me', 'Me')] })
    expect(socket.updates).toEqual([{ projectId: 'p1', taskId: null, idle: false }])

    clock.advance(IDLE_AFTER_MS - 1)
    await nextTick()
    expect(socket.updates).toHaveLength(1)
    clock.advance(1)
    await vi.waitFor(() => expect(socket.updates.at(-1)).toEqual({ projectId: 'p1', taskId: null, idle: true }))

    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'x' }))
    await vi.waitFor(() => expect(socket.updates.at(-1)).toEqual({ projectId: 'p1', taskId: null, idle: false }))
    expect(socket.updates).toHaveLength(3)
  })

  it('stops the stream and forgets the project when the page goes', async () => {
    const socket = fakeSocket()
    const wrapper = await mountPresence(socket, manualClock())
    socket.send({ kind: 'snapshot', members: [person('ana', 'Ana')] })
    expect(usePresenceStore().members).toHaveLength(1)
    wrapper.unmount()
    mounted.splice(0)
    expect(socket.subscriptions.every(s => !s.active)).toBe(true)
    expect(usePresenceStore().members).toEqual([])
  })
})
