import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { useBoardStore } from '~/stores/board'
import type { Task } from '~/utils/api'
import { dropNeighbours } from '~/utils/board'

let n = 0
function task(overrides: Partial<Task> & Pick<Task, 'id' | 'position'>): Task {
  n += 1
  return {
    projectId: 'p1',
    number: n,
    title: `Task ${overrides.id}`,
    status: 'TODO',
    priority: 'NONE',
    assigneeId: null,
    assignee: null,
    dueDate: null,
    labels: [],
    version: 1,
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  } as Task
}

const titles = (list: Task[]) => list.map(t => t.id)

describe('board store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('sorts each column by position as plain strings, ties by id, whatever the load order', () => {
    const board = useBoardStore()
    board.setTasks('p1', [
      task({ id: 'c', position: 'a2' }),
      task({ id: 'b', position: 'a1' }),
      task({ id: 'a', position: 'a1' }),
      // 'Zz' < 'a0' as bytes (uppercase first), unlike localeCompare
      task({ id: 'd', position: 'Zz' }),
      task({ id: 'x', position: 'a0', status: 'DONE' }),
    ])
    expect(titles(board.columns.TODO)).toEqual(['d', 'a', 'b', 'c'])
    expect(titles(board.columns.DONE)).toEqual(['x'])
    expect(board.columns.IN_PROGRESS).toEqual([])
  })

  it('moves a card between two cards of another column at once', () => {
    const board = useBoardStore()
    board.setTasks('p1', [
      task({ id: 'm', position: 'a0' }),
      task({ id: 'd1', position: 'a0', status: 'DONE' }),
      task({ id: 'd2', position: 'a1', status: 'DONE' }),
    ])
    const snapshot = board.applyMove('m', 'DONE', 'd1', 'd2')
    expect(snapshot).not.toBeNull()
    expect(titles(board.columns.TODO)).toEqual([])
    expect(titles(board.columns.DONE)).toEqual(['d1', 'm', 'd2'])
  })

  it('puts a card at the end of a column when no neighbour is given, and before beforeId alone', () => {
    const board = useBoardStore()
    board.setTasks('p1', [
      task({ id: 'a', position: 'a0' }),
      task({ id: 'b', position: 'a1' }),
      task({ id: 'c', position: 'a2' }),
    ])
    board.applyMove('a', 'TODO', null, null)
    expect(titles(board.columns.TODO)).toEqual(['b', 'c', 'a'])
    board.applyMove('c', 'TODO', null, 'b')
    expect(titles(board.columns.TODO)).toEqual(['c', 'b', 'a'])
  })

  it('rolls a failed move back to where the card was', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' }), task({ id: 'b', position: 'a1' })])
    const snapshot = board.applyMove('a', 'IN_REVIEW', null, null)!
    expect(titles(board.columns.IN_REVIEW)).toEqual(['a'])
    board.rollback(snapshot)
    expect(titles(board.columns.TODO)).toEqual(['a', 'b'])
    expect(board.byId.a!.status).toBe('TODO')
    expect(board.byId.a!.position).toBe('a0')
  })

  it('does not undo a later move when an earlier one fails', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    const first = board.applyMove('a', 'IN_PROGRESS', null, null)!
    board.applyMove('a', 'DONE', null, null)
    board.rollback(first)
    expect(board.byId.a!.status).toBe('DONE')
  })

  it('takes the server copy (new version) when the move is confirmed', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    const snapshot = board.applyMove('a', 'DONE', null, null)!
    board.confirmMove(snapshot, { ...board.byId.a!, position: 'a5', version: 2 })
    expect(board.byId.a).toMatchObject({ status: 'DONE', position: 'a5', version: 2 })
  })

  it('ignores tasks of another project and removes deleted ones', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    board.upsert(task({ id: 'z', position: 'a0', projectId: 'p2' }))
    board.upsert(task({ id: 'b', position: 'a1' }))
    board.remove('a')
    expect(titles(board.tasks)).toEqual(['b'])
  })
})

describe('dropNeighbours', () => {
  const cards = [
    { id: 'a', top: 0, height: 40 },
    { id: 'b', top: 50, height: 40 },
  ]
  it('uses the middle of each card to pick the cards above and below the drop', () => {
    expect(dropNeighbours(cards, 10)).toEqual({ afterId: null, beforeId: 'a' })
    expect(dropNeighbours(cards, 30)).toEqual({ afterId: 'a', beforeId: 'b' })
    expect(dropNeighbours(cards, 85)).toEqual({ afterId: 'b', beforeId: null })
    expect(dropNeighbours([], 85)).toEqual({ afterId: null, beforeId: null })
  })
})
