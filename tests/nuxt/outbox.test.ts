import { mountSuspended } from '@nuxt/test-utils/runtime'
import { createPinia, setActivePinia } from 'pinia'
import superjson from 'superjson'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { useBoard } from '~/composables/useBoard'
import { isNetworkError, isServerUnavailable, pendingIdOf, useOutbox } from '~/composables/useOutbox'
import ProjectLiveStatus from '~/components/project/ProjectLiveStatus.vue'
import { useToast } from '~/composables/useToast'
import TaskComments from '~/components/task/TaskComments.vue'
import { isPending, useBoardStore } from '~/stores/board'
import { outboxKey, useOutboxStore } from '~/stores/outbox'
import type { Task, TaskDetail } from '~/utils/api'
import { signUp, taskInput } from '../factories'
import { serveRealRouter, type RealServer, type SignedInUser } from '../factories/realRouter'

/** The panel's copy of a task. */
const detail = (t: Task) => ({ ...t, description: '' }) as TaskDetail

// --- the server: the app's real router (tests/factories/realRouter.ts) ---------------------------

let server: RealServer
let teammate: SignedInUser
let projectId: string
let me: string
beforeAll(async () => {
  server = await serveRealRouter()
  me = server.me.user.id
  teammate = await signUp(server.db)
  // The teammate's project, where the signed-in user is a member (the teammate edits meanwhile).
  projectId = (await teammate.caller.project.create({ name: 'Outbox' })).id
  await teammate.caller.member.add({ projectId, username: server.me.user.username, role: 'MEMBER' })
})
afterAll(() => server.close())

/** New cards "Task a", "Task b", … in To do, in that order, as the board loads them. */
async function cards(...names: string[]): Promise<Task[]> {
  const made: Task[] = []
  for (const name of names) made.push(await server.me.caller.task.create(taskInput(projectId, { title: `Task ${name}` })))
  return made
}
const stored = (id: string) => server.db.prisma.task.findUniqueOrThrow({ where: { id } })
const storedByTitle = (title: string) => server.db.prisma.task.findFirst({ where: { projectId, title } })

// --- the network: the browser's online flag, and fetches that fail before reaching the server ----
// (no server can give a request that never arrives: this is staged in the client's $fetch)

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
    server.requests.length = 0
    online = true
    networkDown = false
    server.databaseDown(false)
    useToast().toasts.value = []
  })
  afterEach(async () => {
    // No replay (or retry timer) of this test may run into the next one.
    online = true
    networkDown = false
    server.databaseDown(false)
    await useOutbox().replay()
  })

  it('queues writes made offline, keeps them in localStorage across a reload, and shows them again', async () => {
    useOutboxStore().setUser(me)
    const [a, b] = await cards('a', 'b')
    const board = useBoardStore()
    board.setTasks(projectId, [a!, b!])
    online = false

    expect(await useBoard(projectId).createTask('TODO', 'Written on the train')).toBeNull()
    expect(await useBoard(projectId).moveTask(a!.id, 'DONE')).toBe(true)
    const due = new Date('2026-03-01T00:00:00Z')
    await useOutbox().updateTask(detail(b!), { title: 'Renamed offline', dueDate: due })

    expect(server.requests).toEqual([])
    expect(useOutboxStore().size).toBe(3)
    expect(storedItems(me).map(i => i.kind)).toEqual(['task.create', 'task.move', 'task.update'])
    // Shown at once: a pending card and the moved card in its new column.
    expect(board.columns.TODO.map(t => t.title)).toEqual(['Task b', 'Written on the train'])
    expect(isPending(board.columns.TODO[1]!)).toBe(true)
    expect(board.columns.DONE.map(t => t.id)).toEqual([a!.id])

    reload()
    const store = useOutboxStore()
    expect(store.size).toBe(0)
    store.setUser(me)
    expect(store.items.map(i => i.kind)).toEqual(['task.create', 'task.move', 'task.update'])
    const update = store.items[2]!
    expect(update.kind === 'task.update' && update.input.patch.dueDate).toEqual(due)

    // The board loads from the server again: the queued changes are put back on it.
    const fresh = useBoardStore()
    fresh.setTasks(projectId, [a!, b!])
    useOutbox().reapply(projectId)
    expect(fresh.columns.TODO.map(t => t.title)).toEqual(['Renamed offline', 'Written on the train'])
    expect(fresh.columns.TODO[1]!.id).toBe(pendingIdOf(store.items[0]!))
    expect(fresh.columns.DONE.map(t => t.id)).toEqual([a!.id])
    // Idempotent: a second pass does not add another card.
    useOutbox().reapply(projectId)
    expect(fresh.tasks).toHaveLength(3)
    // Nothing reached the server while offline.
    expect(await stored(b!.id)).toMatchObject({ title: 'Task b', version: 1 })
  })

  it('keeps each user\'s queue under their own key', async () => {
    const store = useOutboxStore()
    store.setUser(me)
    online = false
    useBoardStore().setTasks(projectId, await cards('a'))
    await useBoard(projectId).createTask('TODO', 'Ann\'s task')
    expect(storedItems(me)).toHaveLength(1)

    // Bob signs in on the same browser: he sees and replays nothing of Ann's.
    store.setUser('someone-else')
    expect(store.size).toBe(0)
    online = true
    await useOutbox().replay()
    expect(server.requests).toEqual([])
    expect(storedItems(me)).toHaveLength(1)
    expect(localStorage.getItem(outboxKey('someone-else'))).toBeNull()

    // Ann again: her write is still waiting.
    store.setUser(me)
    expect(store.items.map(i => i.kind)).toEqual(['task.create'])
  })

  it('replays in order, one at a time, when back online, and the server\'s answers replace the pending state', async () => {
    useOutboxStore().setUser(me)
    const [a, b] = await cards('a', 'b')
    const board = useBoardStore()
    board.setTasks(projectId, [a!, b!])
    online = false
    await useBoard(projectId).createTask('TODO', 'First')
    await useBoard(projectId).moveTask(a!.id, 'DONE')
    await useOutbox().addComment({ taskId: b!.id, body: 'Third' })
    await useOutbox().updateTask(detail(b!), { priority: 'HIGH' })

    online = true
    await useOutbox().replay()

    expect(server.paths()).toEqual(['task.create', 'task.move', 'comment.create', 'task.update'])
    expect(server.requests.map(r => r.concurrent)).toEqual([1, 1, 1, 1])
    const [create, move, , update] = server.requests.map(r => r.inputs[0])
    expect(create).toMatchObject({ projectId, title: 'First', status: 'TODO' })
    expect(move).toMatchObject({ id: a!.id, status: 'DONE' })
    expect(update).toMatchObject({ id: b!.id, baseVersion: 1, patch: { priority: 'HIGH' } })
    expect(useOutboxStore().size).toBe(0)
    expect(localStorage.getItem(outboxKey(me))).toBeNull()
    expect(board.tasks.some(isPending)).toBe(false)
    const first = await storedByTitle('First')
    expect(board.byId[first!.id]).toMatchObject({ title: 'First', number: first!.number })
    expect(board.byId[a!.id]).toMatchObject({ status: 'DONE', version: 2 })
    expect(board.byId[b!.id]).toMatchObject({ priority: 'HIGH', version: 2 })
    expect(await server.db.prisma.comment.findMany({ where: { taskId: b!.id }, select: { body: true } })).toEqual([{ body: 'Third' }])
  })

  it('queues a write whose call fails on the way, keeps it on a network failure during replay, and stops there', async () => {
    useOutboxStore().setUser(me)
    const [a] = await cards('a')
    const board = useBoardStore()
    board.setTasks(projectId, [a!])

    // Online by the browser's account, but the server cannot be reached: the create is queued, not lost.
    networkDown = true
    expect(await useBoard(projectId).createTask('TODO', 'Made during an outage')).toBeNull()
    expect(useOutboxStore().size).toBe(1)
    expect(board.columns.TODO.map(t => t.title)).toEqual(['Task a', 'Made during an outage'])
    // Queued behind it: order is kept.
    await useBoard(projectId).moveTask(a!.id, 'DONE')
    await useOutbox().replay()
    expect(server.requests).toEqual([])
    expect(useOutboxStore().items.map(i => i.kind)).toEqual(['task.create', 'task.move'])
    expect(storedItems(me)).toHaveLength(2)
    expect(useToast().toasts.value.filter(t => t.kind === 'error')).toEqual([])

    networkDown = false
    await useOutbox().replay()
    expect(server.paths()).toEqual(['task.create', 'task.move'])
    expect(useOutboxStore().size).toBe(0)
    expect(await storedByTitle('Made during an outage')).toMatchObject({ status: 'TODO' })
    expect(await stored(a!.id)).toMatchObject({ status: 'DONE' })
  })

  it('keeps a write the server answered 503, says "Server unavailable, retrying" without an error, and sends it when the server is back', async () => {
    const pinia = useNuxtApp().$pinia as ReturnType<typeof createPinia>
    setActivePinia(pinia)
    const store = useOutboxStore()
    store.setUser(null)
    localStorage.clear()
    store.setUser(me)
    const board = useBoardStore()
    board.setTasks(projectId, await cards('a'))

    // Online, the server answers, but its database is down.
    server.databaseDown(true)
    expect(await useBoard(projectId).createTask('TODO', 'Written during the outage')).toBeNull()
    expect(server.paths()).toEqual(['task.create'])
    expect(store.items.map(i => i.kind)).toEqual(['task.create'])
    expect(storedItems(me)).toHaveLength(1)
    expect(board.columns.TODO.map(t => t.title)).toEqual(['Task a', 'Written during the outage'])
    // A status, not an error: nothing was lost.
    const toasts = useToast().toasts.value
    expect(toasts.filter(t => t.kind === 'error')).toEqual([])
    expect(toasts.map(t => t.message)).toEqual([expect.stringMatching(/^Server unavailable, retrying/)])
    const status = await mountSuspended(ProjectLiveStatus)
    expect(status.get('[role="status"]').text()).toContain('Server unavailable, retrying')

    // The server comes back: the retry scheduled after the 503 (its Retry-After) sends the write by itself.
    server.databaseDown(false)
    await vi.waitFor(() => expect(store.size).toBe(0), { timeout: 15_000, interval: 50 })
    expect(server.paths()).toEqual(['task.create', 'task.create'])
    const created = await storedByTitle('Written during the outage')
    expect(board.byId[created!.id]).toMatchObject({ title: 'Written during the outage' })
    expect(board.tasks.some(isPending)).toBe(false)
    expect(store.serverUnavailable).toBe(false)
    await nextTick()
    expect(status.get('[role="status"]').text()).not.toContain('Server unavailable')
    expect(useToast().toasts.value.filter(t => t.kind === 'error')).toEqual([])
  })

  it('keeps a queued write on a 503 during replay and stops there', async () => {
    useOutboxStore().setUser(me)
    const [a] = await cards('a')
    useBoardStore().setTasks(projectId, [a!])
    online = false
    await useBoard(projectId).createTask('TODO', 'First')
    await useBoard(projectId).moveTask(a!.id, 'DONE')
    server.databaseDown(true)
    online = true
    await useOutbox().replay()
    expect(server.paths()).toEqual(['task.create'])
    expect(useOutboxStore().items.map(i => i.kind)).toEqual(['task.create', 'task.move'])
    expect(useOutboxStore().serverUnavailable).toBe(true)
    expect(useToast().toasts.value.filter(t => t.kind === 'error')).toEqual([])
    expect(useToast().toasts.value.map(t => t.message)).toContainEqual(expect.stringMatching(/^Server unavailable, retrying/))
  })

  it('drops a refused write, undoes it with a toast that says why, and goes on with the next', async () => {
    useOutboxStore().setUser(me)
    const [a, b] = await cards('a', 'b')
    const board = useBoardStore()
    board.setTasks(projectId, [a!, b!])
    online = false
    await useBoard(projectId).moveTask(a!.id, 'DONE')
    // A NUL character: PostgreSQL cannot store it, the server refuses it (BAD_REQUEST).
    await useBoard(projectId).createTask('IN_PROGRESS', 'Not allowed\u0000either')
    await useBoard(projectId).createTask('TODO', 'Fine')
    expect(board.columns.DONE.map(t => t.id)).toEqual([a!.id])
    // Meanwhile the teammate deleted the moved card.
    await teammate.caller.task.delete({ id: a!.id })

    online = true
    await useOutbox().replay()

    expect(server.paths()).toEqual(['task.move', 'task.create', 'task.create'])
    expect(useOutboxStore().size).toBe(0)
    // Rolled back: the card is in its column again, the refused create's card is gone.
    const fine = await storedByTitle('Fine')
    expect(board.columns.TODO.map(t => t.id)).toEqual([a!.id, b!.id, fine!.id])
    expect(board.columns.DONE).toEqual([])
    expect(board.columns.IN_PROGRESS).toEqual([])
    const errors = useToast().toasts.value.filter(t => t.kind === 'error').map(t => t.message)
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatch(new RegExp(`Could not move “Task a” to Done.*${a!.id}`))
    expect(errors[1]).toMatch(/Could not add “Not allowed.either”/)
  })

  it('a CONFLICT on a replayed edit keeps the server\'s version and says so', async () => {
    useOutboxStore().setUser(me)
    const [a] = await cards('a')
    const board = useBoardStore()
    board.setTasks(projectId, [a!])
    online = false
    const shown = await useOutbox().updateTask(detail(a!), { title: 'Mine' })
    // The panel shows the edit at once.
    expect(shown.title).toBe('Mine')
    // A second offline edit of the same task joins the first (both were made on version 1).
    await useOutbox().updateTask({ ...shown, version: 1 }, { priority: 'LOW' })
    expect(useOutboxStore().items).toHaveLength(1)
    // Meanwhile the teammate renamed it.
    await teammate.caller.task.update({ id: a!.id, baseVersion: 1, patch: { title: 'Theirs' } })

    online = true
    await useOutbox().replay()

    expect(server.paths()).toEqual(['task.update', 'task.byId'])
    expect(server.requests[0]!.inputs[0]).toMatchObject({ baseVersion: 1, patch: { title: 'Mine', priority: 'LOW' } })
    expect(board.byId[a!.id]).toMatchObject({ title: 'Theirs', version: 2 })
    expect(await stored(a!.id)).toMatchObject({ title: 'Theirs', priority: 'NONE', version: 2 })
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
    store.setUser(me)
    const [t1, t2] = await cards('1', '2')
    online = false
    const placeholder = await useOutbox().addComment({ taskId: t1!.id, body: 'From the train' })
    expect(isPending(placeholder)).toBe(true)
    expect(storedItems(me).map(i => i.kind)).toEqual(['comment.create'])

    // Reopened panel (or a reload): the server's thread does not have it, the outbox does.
    const wrapper = await mountSuspended(TaskComments, { props: { comments: [], canWrite: true, add: async () => {}, taskId: t1!.id } })
    const item = wrapper.find('li.comment')
    expect(item.text()).toContain('From the train')
    expect(item.text()).toContain('waiting to send')
    expect(item.attributes('aria-busy')).toBe('true')
    // Another task's thread does not show it.
    const other = await mountSuspended(TaskComments, { props: { comments: [], canWrite: true, add: async () => {}, taskId: t2!.id } })
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
