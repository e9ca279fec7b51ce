import { mountSuspended, registerEndpoint } from '@nuxt/test-utils/runtime'
import { readBody, setResponseHeader, setResponseStatus } from 'h3'
import { createPinia, setActivePinia } from 'pinia'
import superjson, { type SuperJSONResult } from 'superjson'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useBoard } from '~/composables/useBoard'
import { isNetworkError, isServerUnavailable, pendingIdOf, useOutbox } from '~/composables/useOutbox'
import ProjectLiveStatus from '~/components/project/ProjectLiveStatus.vue'
import { useToast } from '~/composables/useToast'
import TaskComments from '~/components/task/TaskComments.vue'
import { isPending, useBoardStore } from '~/stores/board'
import { outboxKey, useOutboxStore } from '~/stores/outbox'
import type { Task, TaskDetail } from '~/utils/api'

function task(id: string, position: string, status: Task['status'] = 'TODO', version = 1): Task {
  return {
    id, projectId: 'p1', number: 1, title: `Task ${id}`, status, priority: 'NONE', assigneeId: null, assignee: null,
    dueDate: null, labels: [], position, version, updatedAt: new Date('2026-01-01T00:00:00Z'),
  } as Task
}

/** The panel's copy of a task. */
const detail = (t: Task) => ({ ...t, description: '' }) as TaskDetail

// --- a fake API: every call is recorded in order; answers are set per test -----------------------

type Input = Record<string, unknown>
let calls: { path: string, input: Input }[] = []
let replies: Record<string, (input: Input) => unknown> = {}
const ok = (data: unknown) => ({ result: { data: superjson.serialize(data) } })
const refuse = (code: string, message: string) => ({ error: superjson.serialize({ message, code: -32000, data: { code, httpStatus: 400 } }) })
/** What the API answers while its database is down: HTTP 503, Retry-After, SERVICE_UNAVAILABLE. */
const unavailable = (retryAfterSeconds: number) => ({
  error: superjson.serialize({ message: `Server unavailable: the database cannot be reached. Retry in ${retryAfterSeconds} s.`, code: -32603, data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, details: { retryAfterSeconds } } }),
})
/** Server errors go out with their HTTP status (503 …), as the real API sends them. */
function send(event: Parameters<typeof setResponseStatus>[0], reply: unknown) {
  const data = (reply as { error?: { json?: { data?: { httpStatus?: number, details?: { retryAfterSeconds?: number } } } } })?.error?.json?.data
  if (data?.httpStatus && data.httpStatus >= 500) {
    setResponseStatus(event, data.httpStatus)
    if (data.details?.retryAfterSeconds !== undefined) setResponseHeader(event, 'retry-after', data.details.retryAfterSeconds)
  }
  return [reply]
}

for (const path of ['task.create', 'task.move', 'task.update', 'comment.create']) {
  registerEndpoint(`/api/trpc/${path}`, {
    method: 'POST',
    handler: async (event) => {
      const body = await readBody<Record<string, SuperJSONResult>>(event)
      const input = superjson.deserialize<Input>(body['0']!)
      calls.push({ path, input })
      return send(event, await replies[path]!(input))
    },
  })
}
registerEndpoint('/api/trpc/task.byId', {
  method: 'GET',
  handler: () => {
    calls.push({ path: 'task.byId', input: {} })
    return [replies['task.byId']!({})]
  },
})

// --- the network: the browser's online flag, and fetches that fail before reaching the server ----

let online = true
let networkDown = false
Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => online })

function fetchFailed() {
  return Object.assign(new Error('[POST] "/api/trpc": <no response> Failed to fetch'), { name: 'FetchError', cause: new TypeError('Failed to fetch') })
}
// trpc-nuxt sends through `$fetch.create(…).raw`; a dropped network makes that reject without a response.
const realCreate = globalThis.$fetch.create.bind(globalThis.$fetch)
function createWithNetwork(...args: Parameters<typeof realCreate>): ReturnType<typeof realCreate> {
  const instance = realCreate(...args)
  // Read untyped: comparing `raw`'s route-typed signature exhausts the type checker.
  const raw: (...rawArgs: unknown[]) => Promise<unknown> = Reflect.get(instance as object, 'raw')
  Object.assign(instance, { raw: (...rawArgs: unknown[]) => (networkDown ? Promise.reject(fetchFailed()) : raw.apply(instance, rawArgs)) })
  return instance
}
Object.assign(globalThis.$fetch, { create: createWithNetwork })

function storedItems(userId: string): { kind: string }[] {
  const raw = localStorage.getItem(outboxKey(userId))
  return raw ? superjson.parse<{ kind: string }[]>(raw) : []
}

/** A fresh app state on the same browser storage, as after a reload. */
function reload() {
  setActivePinia(createPinia())
}

describe('outbox', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    localStorage.clear()
    calls = []
    replies = {}
    online = true
    networkDown = false
    useToast().toasts.value = []
  })
  afterEach(async () => {
    // No replay (or retry timer) of this test may run into the next one.
    online = true
    networkDown = false
    replies = new Proxy({}, { get: () => (input: Input) => ok({ ...task(String(input.id ?? 'x'), 'a0'), version: 99 }) })
    await useOutbox().replay()
  })

  it('queues writes made offline, keeps them in localStorage across a reload, and shows them again', async () => {
    useOutboxStore().setUser('u1')
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0'), task('b', 'a1')])
    online = false

    expect(await useBoard('p1').createTask('TODO', 'Written on the train')).toBeNull()
    expect(await useBoard('p1').moveTask('a', 'DONE')).toBe(true)
    const due = new Date('2026-03-01T00:00:00Z')
    await useOutbox().updateTask(detail(task('b', 'a1')), { title: 'Renamed offline', dueDate: due })

    expect(calls).toEqual([])
    expect(useOutboxStore().size).toBe(3)
    expect(storedItems('u1').map(i => i.kind)).toEqual(['task.create', 'task.move', 'task.update'])
    // Shown at once: a pending card and the moved card in its new column.
    expect(board.columns.TODO.map(t => t.title)).toEqual(['Task b', 'Written on the train'])
    expect(isPending(board.columns.TODO[1]!)).toBe(true)
    expect(board.columns.DONE.map(t => t.id)).toEqual(['a'])

    reload()
    const store = useOutboxStore()
    expect(store.size).toBe(0)
    store.setUser('u1')
    expect(store.items.map(i => i.kind)).toEqual(['task.create', 'task.move', 'task.update'])
    const update = store.items[2]!
    expect(update.kind === 'task.update' && update.input.patch.dueDate).toEqual(due)

    // The board loads from the server again: the queued changes are put back on it.
    const fresh = useBoardStore()
    fresh.setTasks('p1', [task('a', 'a0'), task('b', 'a1')])
    useOutbox().reapply('p1')
    expect(fresh.columns.TODO.map(t => t.title)).toEqual(['Renamed offline', 'Written on the train'])
    expect(fresh.columns.TODO[1]!.id).toBe(pendingIdOf(store.items[0]!))
    expect(fresh.columns.DONE.map(t => t.id)).toEqual(['a'])
    // Idempotent: a second pass does not add another card.
    useOutbox().reapply('p1')
    expect(fresh.tasks).toHaveLength(3)
  })

  it('keeps each user\'s queue under their own key', async () => {
    const store = useOutboxStore()
    store.setUser('u1')
    online = false
    useBoardStore().setTasks('p1', [task('a', 'a0')])
    await useBoard('p1').createTask('TODO', 'Ann\'s task')
    expect(storedItems('u1')).toHaveLength(1)

    // Bob signs in on the same browser: he sees and replays nothing of Ann's.
    store.setUser('u2')
    expect(store.size).toBe(0)
    online = true
    await useOutbox().replay()
    expect(calls).toEqual([])
    expect(storedItems('u1')).toHaveLength(1)
    expect(localStorage.getItem(outboxKey('u2'))).toBeNull()

    // Ann again: her write is still waiting.
    store.setUser('u1')
    expect(store.items.map(i => i.kind)).toEqual(['task.create'])
  })

  it('replays in order, one at a time, when back online, and the server\'s answers replace the pending state', async () => {
    useOutboxStore().setUser('u1')
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0'), task('b', 'a1')])
    online = false
    await useBoard('p1').createTask('TODO', 'First')
    await useBoard('p1').moveTask('a', 'DONE')
    await useOutbox().addComment({ taskId: 'b', body: 'Third' })
    await useOutbox().updateTask(detail(task('b', 'a1')), { priority: 'HIGH' })

    let inFlight = 0
    let overlapped = false
    const answer = (make: (input: Input) => unknown) => async (input: Input) => {
      if (++inFlight > 1) overlapped = true
      await Promise.resolve()
      inFlight--
      return make(input)
    }
    replies = {
      'task.create': answer(input => ok({ ...task('new', 'a2'), title: input.title, number: 9 })),
      'task.move': answer(() => ok({ ...task('a', 'a5', 'DONE'), version: 2 })),
      'comment.create': answer(() => ok({ id: 'c1', taskId: 'b', body: 'Third', createdAt: new Date(), author: { id: 'u1', username: 'ann', name: 'Ann' } })),
      'task.update': answer(() => ok({ ...task('b', 'a1'), priority: 'HIGH', version: 2, description: '' })),
    }

    online = true
    await useOutbox().replay()

    expect(calls.map(c => c.path)).toEqual(['task.create', 'task.move', 'comment.create', 'task.update'])
    expect(calls[0]!.input).toMatchObject({ projectId: 'p1', title: 'First', status: 'TODO' })
    expect(calls[1]!.input).toMatchObject({ id: 'a', status: 'DONE' })
    expect(calls[3]!.input).toMatchObject({ id: 'b', baseVersion: 1, patch: { priority: 'HIGH' } })
    expect(overlapped).toBe(false)
    expect(useOutboxStore().size).toBe(0)
    expect(localStorage.getItem(outboxKey('u1'))).toBeNull()
    expect(board.tasks.some(isPending)).toBe(false)
    expect(board.byId.new).toMatchObject({ title: 'First', number: 9 })
    expect(board.byId.a).toMatchObject({ status: 'DONE', version: 2 })
    expect(board.byId.b).toMatchObject({ priority: 'HIGH', version: 2 })
  })

  it('queues a write whose call fails on the way, keeps it on a network failure during replay, and stops there', async () => {
    useOutboxStore().setUser('u1')
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0')])

    // Online by the browser's account, but the server cannot be reached: the create is queued, not lost.
    networkDown = true
    expect(await useBoard('p1').createTask('TODO', 'Made during an outage')).toBeNull()
    expect(useOutboxStore().size).toBe(1)
    expect(board.columns.TODO.map(t => t.title)).toEqual(['Task a', 'Made during an outage'])
    replies['task.create'] = () => ok({ ...task('x', 'a1'), title: 'Made during an outage' })
    replies['task.move'] = () => ok({ ...task('a', 'a9', 'DONE'), version: 2 })
    // Queued behind it: order is kept.
    await useBoard('p1').moveTask('a', 'DONE')
    await useOutbox().replay()
    expect(calls).toEqual([])
    expect(useOutboxStore().items.map(i => i.kind)).toEqual(['task.create', 'task.move'])
    expect(storedItems('u1')).toHaveLength(2)
    expect(useToast().toasts.value.filter(t => t.kind === 'error')).toEqual([])

    networkDown = false
    await useOutbox().replay()
    expect(calls.map(c => c.path)).toEqual(['task.create', 'task.move'])
    expect(useOutboxStore().size).toBe(0)
  })

  it('keeps a write the server answered 503, says "Server unavailable, retrying" without an error, and sends it when the server is back', async () => {
    const pinia = useNuxtApp().$pinia as ReturnType<typeof createPinia>
    setActivePinia(pinia)
    const store = useOutboxStore()
    store.setUser(null)
    localStorage.clear()
    store.setUser('u1')
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0')])

    // Online, the server answers, but its database is down.
    replies['task.create'] = () => unavailable(0)
    expect(await useBoard('p1').createTask('TODO', 'Written during the outage')).toBeNull()
    expect(calls.map(c => c.path)).toEqual(['task.create'])
    expect(store.items.map(i => i.kind)).toEqual(['task.create'])
    expect(storedItems('u1')).toHaveLength(1)
    expect(board.columns.TODO.map(t => t.title)).toEqual(['Task a', 'Written during the outage'])
    // A status, not an error: nothing was lost.
    const toasts = useToast().toasts.value
    expect(toasts.filter(t => t.kind === 'error')).toEqual([])
    expect(toasts.map(t => t.message)).toEqual([expect.stringMatching(/^Server unavailable, retrying/)])
    const status = await mountSuspended(ProjectLiveStatus)
    expect(status.get('[role="status"]').text()).toContain('Server unavailable, retrying')

    // The server comes back: the retry scheduled after the 503 sends the write by itself.
    replies['task.create'] = input => ok({ ...task('x', 'a1'), title: input.title })
    await vi.waitFor(() => expect(store.size).toBe(0), { timeout: 10_000, interval: 50 })
    expect(calls.map(c => c.path)).toEqual(['task.create', 'task.create'])
    expect(board.byId.x).toMatchObject({ title: 'Written during the outage' })
    expect(board.tasks.some(isPending)).toBe(false)
    expect(store.serverUnavailable).toBe(false)
    await nextTick()
    expect(status.get('[role="status"]').text()).not.toContain('Server unavailable')
    expect(useToast().toasts.value.filter(t => t.kind === 'error')).toEqual([])
  })

  it('keeps a queued write on a 503 during replay and stops there', async () => {
    useOutboxStore().setUser('u1')
    useBoardStore().setTasks('p1', [task('a', 'a0')])
    online = false
    await useBoard('p1').createTask('TODO', 'First')
    await useBoard('p1').moveTask('a', 'DONE')
    replies['task.create'] = () => unavailable(30)
    online = true
    await useOutbox().replay()
    expect(calls.map(c => c.path)).toEqual(['task.create'])
    expect(useOutboxStore().items.map(i => i.kind)).toEqual(['task.create', 'task.move'])
    expect(useOutboxStore().serverUnavailable).toBe(true)
    expect(useToast().toasts.value.filter(t => t.kind === 'error')).toEqual([])
    expect(useToast().toasts.value.map(t => t.message)).toContainEqual(expect.stringMatching(/^Server unavailable, retrying/))
  })

  it('drops a refused write, undoes it with a toast that says why, and goes on with the next', async () => {
    useOutboxStore().setUser('u1')
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0'), task('b', 'a1')])
    online = false
    await useBoard('p1').moveTask('a', 'DONE')
    await useBoard('p1').createTask('IN_PROGRESS', 'Not allowed either')
    await useBoard('p1').createTask('TODO', 'Fine')
    expect(board.columns.DONE.map(t => t.id)).toEqual(['a'])

    replies = {
      'task.move': () => refuse('FORBIDDEN', 'Your role (VIEWER) cannot change task a'),
      'task.create': input => (input.title === 'Fine' ? ok({ ...task('fine', 'a3'), title: 'Fine' }) : refuse('BAD_REQUEST', 'That column is closed')),
    }
    online = true
    await useOutbox().replay()

    expect(calls.map(c => c.path)).toEqual(['task.move', 'task.create', 'task.create'])
    expect(useOutboxStore().size).toBe(0)
    // Rolled back: the card is in its column again, the refused create's card is gone.
    expect(board.columns.TODO.map(t => t.id)).toEqual(['a', 'b', 'fine'])
    expect(board.columns.DONE).toEqual([])
    expect(board.columns.IN_PROGRESS).toEqual([])
    const errors = useToast().toasts.value.filter(t => t.kind === 'error').map(t => t.message)
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatch(/Could not move “Task a” to Done.*cannot change task a/)
    expect(errors[1]).toMatch(/Could not add “Not allowed either”.*That column is closed/)
  })

  it('a CONFLICT on a replayed edit keeps the server\'s version and says so', async () => {
    useOutboxStore().setUser('u1')
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0')])
    online = false
    const shown = await useOutbox().updateTask(detail(task('a', 'a0')), { title: 'Mine' })
    // The panel shows the edit at once.
    expect(shown.title).toBe('Mine')
    // A second offline edit of the same task joins the first (both were made on version 1).
    await useOutbox().updateTask({ ...shown, version: 1 }, { priority: 'LOW' })
    expect(useOutboxStore().items).toHaveLength(1)

    replies = {
      'task.update': () => refuse('CONFLICT', 'Task a was changed by someone else (version 3, you edited 1)'),
      'task.byId': () => ok({ ...task('a', 'a0'), title: 'Theirs', version: 3, description: '' }),
    }
    online = true
    await useOutbox().replay()

    expect(calls.map(c => c.path)).toEqual(['task.update', 'task.byId'])
    expect(calls[0]!.input).toMatchObject({ baseVersion: 1, patch: { title: 'Mine', priority: 'LOW' } })
    expect(board.byId.a).toMatchObject({ title: 'Theirs', version: 3 })
    expect(useOutboxStore().size).toBe(0)
    const errors = useToast().toasts.value.filter(t => t.kind === 'error').map(t => t.message)
    expect(errors).toEqual([expect.stringMatching(/“Task a” was changed by someone else while you were offline/)])
  })

  it('shows a comment written offline in its thread as waiting, also after a reload', async () => {
    // The component reads the app's own Pinia.
    const pinia = useNuxtApp().$pinia as ReturnType<typeof createPinia>
    setActivePinia(pinia)
    const store = useOutboxStore()
    store.setUser(null)
    localStorage.clear()
    store.setUser('u1')
    online = false
    const placeholder = await useOutbox().addComment({ taskId: 't1', body: 'From the train' })
    expect(isPending(placeholder)).toBe(true)
    expect(storedItems('u1').map(i => i.kind)).toEqual(['comment.create'])

    // Reopened panel (or a reload): the server's thread does not have it, the outbox does.
    const wrapper = await mountSuspended(TaskComments, { props: { comments: [], canWrite: true, add: async () => {}, taskId: 't1' } })
    const item = wrapper.find('li.comment')
    expect(item.text()).toContain('From the train')
    expect(item.text()).toContain('waiting to send')
    expect(item.attributes('aria-busy')).toBe('true')
    // Another task's thread does not show it.
    const other = await mountSuspended(TaskComments, { props: { comments: [], canWrite: true, add: async () => {}, taskId: 't2' } })
    expect(other.find('li.comment').exists()).toBe(false)
  })

  it('tells a network failure from a server\'s refusal', () => {
    expect(isNetworkError(new TypeError('Failed to fetch'))).toBe(true)
    expect(isNetworkError(fetchFailed())).toBe(true)
    expect(isNetworkError(Object.assign(new Error('Bad Gateway'), { name: 'FetchError', response: {} }))).toBe(false)
    expect(isNetworkError(Object.assign(new Error('Nope'), { name: 'TRPCClientError', data: { code: 'FORBIDDEN' } }))).toBe(false)
    expect(isNetworkError(Object.assign(new Error('Unexpected token <'), { name: 'TRPCClientError' }))).toBe(true)
    expect(isServerUnavailable(Object.assign(new Error('Server unavailable'), { name: 'TRPCClientError', data: { code: 'SERVICE_UNAVAILABLE' } }))).toBe(true)
    expect(isServerUnavailable(Object.assign(new Error('Nope'), { name: 'TRPCClientError', data: { code: 'FORBIDDEN' } }))).toBe(false)
  })
})
