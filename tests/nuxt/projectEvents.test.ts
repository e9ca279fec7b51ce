import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ProjectEvent, ProjectEventDataMap, ProjectEventType } from '~~/shared/events'
import { useBoardStore } from '~/stores/board'
import { useRealtimeStore } from '~/stores/realtime'
import type { Task } from '~/utils/api'
import { applyProjectEvent, memberToastText, statusToastText, type EventContext, type StatusToastContext } from '~/utils/projectEvents'

function task(overrides: Partial<Task> & Pick<Task, 'id' | 'position'>): Task {
  return {
    projectId: 'p1', number: 1, title: `Task ${overrides.id}`, status: 'TODO', priority: 'NONE', assigneeId: null,
    assignee: null, dueDate: null, labels: [], version: 1, updatedAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  } as Task
}

let seq = 0
function event<T extends ProjectEventType>(type: T, entityId: string, data: ProjectEventDataMap[T], actorId = 'other'): ProjectEvent {
  seq += 1
  return { id: `e${seq}`, projectId: 'p1', seq, type, actorId, entityType: 'task', entityId, data, createdAt: new Date('2026-02-01T00:00:00Z') }
}

const ctx: EventContext = {
  selfId: 'me',
  assignee: id => (id === 'u1' ? { id: 'u1', username: 'ann', name: 'Ann' } : undefined),
}
const ids = (list: Task[]) => list.map(t => t.id)

describe('applyProjectEvent', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('task.created adds the card to its column from the event alone, with dates and a known assignee', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    const effects = applyProjectEvent(board, event('task.created', 'b', {
      task: { id: 'b', projectId: 'p1', number: 7, title: 'From Bob', status: 'TODO', priority: 'HIGH', assigneeId: 'u1', dueDate: '2026-03-01T00:00:00.000Z', labels: ['x'], position: 'a1', version: 1, updatedAt: '2026-02-01T00:00:00.000Z' },
    }), ctx)
    expect(effects).toMatchObject({ applied: true, refetchTask: undefined })
    expect(ids(board.columns.TODO)).toEqual(['a', 'b'])
    expect(board.byId.b).toMatchObject({ number: 7, title: 'From Bob', priority: 'HIGH', assignee: { name: 'Ann' }, labels: ['x'] })
    expect(board.byId.b!.dueDate).toEqual(new Date('2026-03-01T00:00:00Z'))
  })

  it('task.created with an assignee the page does not know asks for the task', () => {
    const board = useBoardStore()
    board.setTasks('p1', [])
    const effects = applyProjectEvent(board, event('task.created', 'b', {
      task: { id: 'b', projectId: 'p1', number: 1, title: 'B', status: 'TODO', priority: 'NONE', assigneeId: 'stranger', dueDate: null, labels: [], position: 'a0', version: 1, updatedAt: '2026-02-01T00:00:00.000Z' },
    }), ctx)
    expect(effects.refetchTask).toBe('b')
    expect(board.byId.b).toMatchObject({ assigneeId: 'stranger', assignee: null })
  })

  it('our own task.created replaces the pending card instead of showing it twice', () => {
    const board = useBoardStore()
    board.setTasks('p1', [])
    board.addPending('p1', 'TODO', 'Mine')
    applyProjectEvent(board, event('task.created', 'm', {
      task: { id: 'm', projectId: 'p1', number: 2, title: 'Mine', status: 'TODO', priority: 'NONE', assigneeId: null, dueDate: null, labels: [], position: 'a0', version: 1, updatedAt: '2026-02-01T00:00:00.000Z' },
    }, 'me'), ctx)
    expect(ids(board.columns.TODO)).toEqual(['m'])
  })

  it('task.moved moves the card to its new column and place', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' }), task({ id: 'd', position: 'a0', status: 'DONE' })])
    applyProjectEvent(board, event('task.moved', 'a', { version: 2, changes: { status: { from: 'TODO', to: 'DONE' }, position: { from: 'a0', to: 'Zz' } } }), ctx)
    expect(ids(board.columns.TODO)).toEqual([])
    expect(ids(board.columns.DONE)).toEqual(['a', 'd'])
    expect(board.byId.a!.version).toBe(2)
  })

  it('task.updated writes only the changed fields; a status change places the card where the server put it, with no refetch', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    const effects = applyProjectEvent(board, event('task.updated', 'a', { version: 2, changes: { title: { from: 'Task a', to: 'Renamed' }, assigneeId: { from: null, to: 'u1' } } }), ctx)
    expect(effects.refetchTask).toBeUndefined()
    expect(board.byId.a).toMatchObject({ title: 'Renamed', assignee: { username: 'ann' }, position: 'a0', version: 2 })

    board.setTasks('p1', [board.byId.a!, task({ id: 'r', position: 'a5', status: 'IN_REVIEW' })])
    const moved = applyProjectEvent(board, event('task.updated', 'a', { version: 3, changes: { status: { from: 'TODO', to: 'IN_REVIEW' }, position: { from: 'a0', to: 'a6' } } }), ctx)
    expect(moved.refetchTask).toBeUndefined()
    expect(board.byId.a).toMatchObject({ status: 'IN_REVIEW', position: 'a6' })
    expect(ids(board.columns.IN_REVIEW)).toEqual(['r', 'a'])
  })

  it('an event older than the local copy (a replay) changes nothing', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0', title: 'Newest', version: 5 })])
    const effects = applyProjectEvent(board, event('task.updated', 'a', { version: 4, changes: { title: { from: 'x', to: 'Older' } } }), ctx)
    expect(effects.applied).toBe(false)
    expect(board.byId.a!.title).toBe('Newest')
  })

  it('a remote edit during a pending local move keeps the card where the user dropped it', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' }), task({ id: 'd', position: 'a0', status: 'DONE' })])
    const snapshot = board.applyMove('a', 'DONE', 'd', null)!
    applyProjectEvent(board, event('task.updated', 'a', { version: 2, changes: { title: { from: 'Task a', to: 'Edited by Bob' } } }), ctx)
    expect(ids(board.columns.DONE)).toEqual(['d', 'a'])
    expect(board.byId.a!.title).toBe('Edited by Bob')

    // The move's own answer confirms it; its echo (same version) changes nothing visible.
    board.confirmMove(snapshot, { ...board.byId.a!, version: 3 })
    applyProjectEvent(board, event('task.moved', 'a', { version: 3, changes: { status: { from: 'TODO', to: 'DONE' }, position: { from: 'a0', to: board.byId.a!.position } } }), ctx)
    expect(ids(board.columns.DONE)).toEqual(['d', 'a'])
    expect(board.byId.a).toMatchObject({ title: 'Edited by Bob', version: 3 })
  })

  it('a rejected local move goes back without undoing a remote edit that arrived meanwhile', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    const snapshot = board.applyMove('a', 'DONE', null, null)!
    applyProjectEvent(board, event('task.updated', 'a', { version: 2, changes: { title: { from: 'Task a', to: 'Edited by Bob' } } }), ctx)
    board.rollback(snapshot)
    expect(board.byId.a).toMatchObject({ status: 'TODO', title: 'Edited by Bob', version: 2 })
  })

  it('a late HTTP answer older than a live event does not bring the old copy back', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    applyProjectEvent(board, event('task.updated', 'a', { version: 3, changes: { title: { from: 'x', to: 'Latest' } } }), ctx)
    board.upsert(task({ id: 'a', position: 'a0', title: 'Stale', version: 2 }))
    expect(board.byId.a!.title).toBe('Latest')
  })

  it('task.deleted removes the card; a task the board does not hold is fetched', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    expect(applyProjectEvent(board, event('task.deleted', 'a', { version: 2, title: 'Task a' }), ctx).applied).toBe(true)
    expect(board.tasks).toEqual([])
    expect(applyProjectEvent(board, event('task.updated', 'zz', { version: 2, changes: { title: { from: 'a', to: 'b' } } }), ctx).refetchTask).toBe('zz')
  })

  it('member and project events ask for a refresh; removal of the signed-in user says so', () => {
    const board = useBoardStore()
    board.setTasks('p1', [])
    expect(applyProjectEvent(board, event('member.added', 'u2', { userId: 'u2', username: 'bob', name: 'Bob', role: 'MEMBER' }), ctx)).toMatchObject({ members: true })
    expect(applyProjectEvent(board, event('member.removed', 'me', { userId: 'me', role: 'MEMBER' }), ctx)).toMatchObject({ members: true, removedSelf: true })
    expect(applyProjectEvent(board, event('project.updated', 'p1', { changes: { name: { from: 'A', to: 'B' } } }), ctx)).toMatchObject({ project: true })
  })

  it('events of another project are ignored', () => {
    const board = useBoardStore()
    board.setTasks('p1', [task({ id: 'a', position: 'a0' })])
    const other = { ...event('task.deleted', 'a', { version: 2, title: 'Task a' }), projectId: 'p2' }
    expect(applyProjectEvent(board, other, ctx).applied).toBe(false)
    expect(ids(board.tasks)).toEqual(['a'])
  })
})

describe('realtime store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('accepts each seq once, after the one the page was rendered at', () => {
    const realtime = useRealtimeStore()
    realtime.startAt('p1', 10)
    expect(realtime.accept('p1', 10)).toBe('duplicate')
    expect(realtime.accept('p1', 11)).toBe('next')
    expect(realtime.accept('p1', 11)).toBe('duplicate')
    expect(realtime.accept('p1', 12)).toBe('next')
    expect(realtime.lastSeq.p1).toBe(12)
  })

  it('reports a gap without recording it, so the stream can be asked again from the last seq', () => {
    const realtime = useRealtimeStore()
    realtime.startAt('p1', 3)
    expect(realtime.accept('p1', 5)).toBe('gap')
    expect(realtime.lastSeq.p1).toBe(3)
    expect(realtime.accept('p1', 4)).toBe('next')
  })

  it('tells connecting, live, reconnecting and offline apart', () => {
    const realtime = useRealtimeStore()
    realtime.socketState('connecting', false)
    expect(realtime.status).toBe('connecting')
    realtime.socketState('pending', false)
    expect(realtime.status).toBe('live')
    realtime.socketState('connecting', true)
    expect(realtime.status).toBe('reconnecting')
    realtime.browserOnline = false
    expect(realtime.status).toBe('offline')
  })
})

describe('statusToastText', () => {
  const createdAt = new Date('2026-02-01T00:00:00Z')
  const toastCtx: StatusToastContext = {
    selfId: 'me',
    memberName: id => ({ ana: 'Ana', me: 'Me' } as Record<string, string>)[id],
    taskTitle: id => (id === 'a' ? 'Fix login' : undefined),
    now: new Date(createdAt.getTime() + 5_000),
  }
  const moved = (actorId: string | null, changes: ProjectEventDataMap['task.moved']['changes'], type: 'task.moved' | 'task.updated' = 'task.moved', entityId = 'a') =>
    ({ ...event(type, entityId, { version: 2, changes }), actorId })

  it('names who moved which task where, when someone else did it', () => {
    expect(statusToastText(moved('ana', { status: { from: 'IN_REVIEW', to: 'DONE' }, position: { from: 'a0', to: 'a1' } }), toastCtx)).toBe('Ana moved \'Fix login\' to Done')
    // A status set from the task panel (task.updated), together with a new title.
    expect(statusToastText(moved('ana', { status: { from: 'TODO', to: 'IN_PROGRESS' }, title: { from: 'Fix login', to: 'Fix SSO login' } }, 'task.updated'), toastCtx))
      .toBe('Ana moved \'Fix SSO login\' to In progress')
    expect(statusToastText(moved('gone', { status: { from: 'TODO', to: 'DONE' } }, 'task.moved', 'unknown-task'), toastCtx)).toBe('Someone moved a task to Done')
  })

  it('says nothing for the user\'s own moves, reorders within a column, other events, or a catch-up of old events', () => {
    expect(statusToastText(moved('me', { status: { from: 'TODO', to: 'DONE' } }), toastCtx)).toBeNull()
    expect(statusToastText(moved('ana', { position: { from: 'a0', to: 'a1' } }), toastCtx)).toBeNull()
    expect(statusToastText(moved('ana', { priority: { from: 'LOW', to: 'HIGH' } }, 'task.updated'), toastCtx)).toBeNull()
    expect(statusToastText({ ...event('comment.created', 'a', { taskId: 'a', body: 'hi' }), actorId: 'ana' }, toastCtx)).toBeNull()
    expect(statusToastText(moved('ana', { status: { from: 'TODO', to: 'DONE' } }), { ...toastCtx, now: new Date(createdAt.getTime() + 10 * 60_000) })).toBeNull()
  })
})

describe('memberToastText', () => {
  const createdAt = new Date('2026-02-01T00:00:00Z')
  const toastCtx: StatusToastContext = {
    selfId: 'me',
    memberName: id => ({ dan: 'Dan', ben: 'Ben', me: 'Me' } as Record<string, string>)[id],
    taskTitle: () => undefined,
    now: new Date(createdAt.getTime() + 5_000),
  }
  const added = (actorId: string, userId: string, name: string) => event('member.added', userId, { userId, username: name.toLowerCase(), name, role: 'MEMBER' }, actorId)

  it('tells viewers who joined or left the project, and who did it', () => {
    expect(memberToastText(added('dan', 'cara', 'Cara'), toastCtx)).toBe('Dan added Cara to the project')
    expect(memberToastText(added('dan', 'me', 'Me'), toastCtx)).toBe('Dan added you to the project')
    expect(memberToastText(event('member.removed', 'ben', { userId: 'ben', role: 'MEMBER' }, 'dan'), toastCtx)).toBe('Dan removed Ben from the project')
    expect(memberToastText(event('member.left', 'ben', { userId: 'ben', role: 'MEMBER' }, 'ben'), toastCtx)).toBe('Ben left the project')
  })

  it('says nothing for the user\'s own change, other events, or old events', () => {
    expect(memberToastText(added('me', 'cara', 'Cara'), toastCtx)).toBeNull()
    expect(memberToastText(event('comment.created', 'a', { taskId: 'a', body: 'hi' }, 'dan'), toastCtx)).toBeNull()
    expect(memberToastText(added('dan', 'cara', 'Cara'), { ...toastCtx, now: new Date(createdAt.getTime() + 10 * 60_000) })).toBeNull()
  })
})
