// useBoard's optimistic moves and creates against the real router (tests/factories/realRouter.ts).
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { useBoard } from '~/composables/useBoard'
import { useToast } from '~/composables/useToast'
import { isPending, useBoardStore } from '~/stores/board'
import type { Task } from '~/utils/api'
import { signUp, taskInput } from '../factories'
import { serveRealRouter, type RealServer } from '../factories/realRouter'

let server: RealServer
/** the signed-in user's own project, and a teammate's where the signed-in user is a VIEWER */
let own: string
let viewOnly: string
beforeAll(async () => {
  server = await serveRealRouter()
  own = (await server.me.caller.project.create({ name: 'Board' })).id
  const owner = await signUp(server.db)
  viewOnly = (await owner.caller.project.create({ name: 'Read only' })).id
  await owner.caller.member.add({ projectId: viewOnly, username: server.me.user.username, role: 'VIEWER' })
  await owner.caller.task.create(taskInput(viewOnly, { title: 'Task a' }))
})
afterAll(() => server.close())

/** New cards in the signed-in user's own project, in order. */
async function cards(...specs: { title: string, status?: Task['status'] }[]): Promise<Task[]> {
  const made: Task[] = []
  for (const spec of specs) made.push(await server.me.caller.task.create(taskInput(own, spec)))
  return made
}
/** The card of the read-only project, as the signed-in user sees it. */
const viewOnlyCard = async () => (await server.me.caller.task.list({ projectId: viewOnly }))[0]!

describe('useBoard().moveTask', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    server.requests.length = 0
    useToast().toasts.value = []
  })

  it('shows the move at once and keeps the server copy on success', async () => {
    const board = useBoardStore()
    const [a, b, d] = await cards({ title: 'a' }, { title: 'b' }, { title: 'd', status: 'DONE' })
    board.setTasks(own, [a!, b!, d!])

    const pending = useBoard(own).moveTask(a!.id, 'DONE', d!.id, null)
    // optimistic: before the server answered
    expect(board.columns.DONE.map(t => t.id)).toEqual([d!.id, a!.id])
    expect(await pending).toBe(true)

    expect(server.inputsOf('task.move')).toEqual([{ id: a!.id, status: 'DONE', afterId: d!.id, beforeId: null }])
    const stored = await server.db.prisma.task.findUniqueOrThrow({ where: { id: a!.id } })
    expect(stored).toMatchObject({ status: 'DONE', version: 2 })
    expect(stored.position > d!.position).toBe(true)
    expect(board.byId[a!.id]).toMatchObject({ status: 'DONE', position: stored.position, version: 2 })
    expect(useToast().toasts.value).toEqual([])
  })

  it('puts the card back and tells the user when the server refuses', async () => {
    const board = useBoardStore()
    const a = await viewOnlyCard()
    board.setTasks(viewOnly, [a])

    expect(await useBoard(viewOnly).moveTask(a.id, 'IN_PROGRESS')).toBe(false)

    expect(server.paths()).toEqual(['task.move'])
    expect(board.columns.TODO.map(t => t.id)).toEqual([a.id])
    expect(board.columns.IN_PROGRESS).toEqual([])
    const toasts = useToast().toasts.value
    expect(toasts).toHaveLength(1)
    expect(toasts[0]).toMatchObject({ kind: 'error' })
    expect(toasts[0]!.message).toContain(`Your role (VIEWER) cannot change task ${a.id}`)
  })
})

describe('useBoard().createTask', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('shows a pending card at the end of the column until the server answers', async () => {
    const board = useBoardStore()
    const [a] = await cards({ title: 'first' })
    board.setTasks(own, [a!])
    // The server holds its answer until the pending card has been seen.
    const release = server.hold()

    const saving = useBoard(own).createTask('TODO', 'Ship it')
    expect(board.columns.TODO.map(t => t.title)).toEqual(['first', 'Ship it'])
    expect(isPending(board.columns.TODO[1]!)).toBe(true)

    release()
    const created = await saving
    const stored = await server.db.prisma.task.findFirstOrThrow({ where: { projectId: own, title: 'Ship it' } })
    expect(created).toMatchObject({ id: stored.id, number: stored.number })
    expect(board.columns.TODO.map(t => t.id)).toEqual([a!.id, stored.id])
    expect(board.byId[stored.id]).toMatchObject({ title: 'Ship it', number: stored.number })
  })

  it('removes the pending card when the server refuses', async () => {
    const board = useBoardStore()
    const a = await viewOnlyCard()
    board.setTasks(viewOnly, [a])
    const release = server.hold()

    const saving = useBoard(viewOnly).createTask('TODO', 'Nope')
    expect(board.columns.TODO).toHaveLength(2)
    release()
    await expect(saving).rejects.toThrow(`Your role (VIEWER) cannot do this in project ${viewOnly}`)
    expect(board.columns.TODO.map(t => t.id)).toEqual([a.id])
    expect(await server.db.prisma.task.count({ where: { projectId: viewOnly, title: 'Nope' } })).toBe(0)
  })
})
