import { registerEndpoint } from '@nuxt/test-utils/runtime'
import { createPinia, setActivePinia } from 'pinia'
import superjson from 'superjson'
import { beforeEach, describe, expect, it } from 'vitest'
import { readBody } from 'h3'
import { useBoard } from '~/composables/useBoard'
import { useToast } from '~/composables/useToast'
import { isPending, useBoardStore } from '~/stores/board'
import type { Task } from '~/utils/api'

function task(id: string, position: string, status: Task['status'] = 'TODO'): Task {
  return {
    id, projectId: 'p1', number: 1, title: `Task ${id}`, status, priority: 'NONE', assigneeId: null, assignee: null,
    dueDate: null, labels: [], position, version: 1, updatedAt: new Date('2026-01-01T00:00:00Z'),
  } as Task
}

/** The server's answer to one call of a tRPC batch. */
let moveReply: (input: { id: string, status: string }) => unknown
let moveInputs: unknown[] = []

registerEndpoint('/api/trpc/task.move', {
  method: 'POST',
  handler: async (event) => {
    const body = await readBody<Record<string, { json: { id: string, status: string } }>>(event)
    const input = body['0']!.json
    moveInputs.push(input)
    return [moveReply(input)]
  },
})

describe('useBoard().moveTask', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    moveInputs = []
    useToast().toasts.value = []
  })

  it('shows the move at once and keeps the server copy on success', async () => {
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0'), task('b', 'a1'), task('d', 'a0', 'DONE')])
    moveReply = input => ({ result: { data: superjson.serialize({ ...task(input.id, 'a1', 'DONE'), version: 2 }) } })

    const pending = useBoard('p1').moveTask('a', 'DONE', 'd', null)
    // optimistic: before the server answered
    expect(board.columns.DONE.map(t => t.id)).toEqual(['d', 'a'])
    expect(await pending).toBe(true)

    expect(moveInputs).toEqual([{ id: 'a', status: 'DONE', afterId: 'd', beforeId: null }])
    expect(board.byId.a).toMatchObject({ status: 'DONE', position: 'a1', version: 2 })
    expect(useToast().toasts.value).toEqual([])
  })

  it('puts the card back and tells the user when the server refuses', async () => {
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0'), task('b', 'a1')])
    moveReply = () => ({ error: superjson.serialize({ message: 'Your role (VIEWER) cannot change task a', code: -32003, data: { code: 'FORBIDDEN', httpStatus: 403 } }) })

    expect(await useBoard('p1').moveTask('a', 'IN_PROGRESS')).toBe(false)

    expect(board.columns.TODO.map(t => t.id)).toEqual(['a', 'b'])
    expect(board.columns.IN_PROGRESS).toEqual([])
    const toasts = useToast().toasts.value
    expect(toasts).toHaveLength(1)
    expect(toasts[0]).toMatchObject({ kind: 'error' })
    expect(toasts[0]!.message).toContain('cannot change task a')
  })
})

let createReply: (input: { title: string, status: string }) => unknown
/** The endpoint holds its answer until the test opens the gate, whichever comes first. */
let releaseCreate: () => void = () => {}
let gate: Promise<void> = Promise.resolve()

registerEndpoint('/api/trpc/task.create', {
  method: 'POST',
  handler: async (event) => {
    const body = await readBody<Record<string, { json: { title: string, status: string } }>>(event)
    await gate
    return [createReply(body['0']!.json)]
  },
})

describe('useBoard().createTask', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    gate = new Promise<void>((resolve) => {
      releaseCreate = resolve
    })
  })

  it('shows a pending card at the end of the column until the server answers', async () => {
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0')])
    createReply = input => ({ result: { data: superjson.serialize({ ...task('new', 'a1'), title: input.title, number: 7 }) } })

    const saving = useBoard('p1').createTask('TODO', 'Ship it')
    expect(board.columns.TODO.map(t => t.title)).toEqual(['Task a', 'Ship it'])
    expect(isPending(board.columns.TODO[1]!)).toBe(true)

    releaseCreate()
    await saving
    expect(board.columns.TODO.map(t => t.id)).toEqual(['a', 'new'])
    expect(board.byId.new).toMatchObject({ title: 'Ship it', number: 7 })
  })

  it('removes the pending card when the server refuses', async () => {
    const board = useBoardStore()
    board.setTasks('p1', [task('a', 'a0')])
    createReply = () => ({ error: superjson.serialize({ message: 'Your role (VIEWER) cannot do this', code: -32003, data: { code: 'FORBIDDEN', httpStatus: 403 } }) })

    const saving = useBoard('p1').createTask('TODO', 'Nope')
    expect(board.columns.TODO).toHaveLength(2)
    releaseCreate()
    await expect(saving).rejects.toThrow(/cannot do this/)
    expect(board.columns.TODO.map(t => t.id)).toEqual(['a'])
  })
})
