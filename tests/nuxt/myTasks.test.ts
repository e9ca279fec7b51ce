import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ProjectEvent, ProjectEventDataMap, ProjectEventType } from '~~/shared/events'
import { useLabelsStore } from '~/stores/labels'
import { useMyTasksStore } from '~/stores/myTasks'
import type { Task } from '~/utils/api'
import { applyMyTaskEvent, dueGroup, groupByDue } from '~/utils/myTasks'

function task(overrides: Partial<Task> & Pick<Task, 'id'>): Task {
  return {
    projectId: 'p1', number: 1, title: `Task ${overrides.id}`, status: 'TODO', priority: 'NONE', assigneeId: 'me',
    assignee: { id: 'me', username: 'me', name: 'Me' }, dueDate: null, labels: [], position: 'a0', version: 1,
    updatedAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  } as Task
}

let seq = 0
function event<T extends ProjectEventType>(type: T, entityId: string, data: ProjectEventDataMap[T], entityType: ProjectEvent['entityType'] = 'task'): ProjectEvent {
  seq += 1
  return { id: `e${seq}`, projectId: 'p1', seq, type, actorId: 'other', entityType, entityId, data, createdAt: new Date('2026-02-01T00:00:00Z') }
}

const day = (iso: string) => new Date(`${iso}T00:00:00.000Z`)
// A Wednesday, mid-afternoon local time.
const now = new Date(2026, 11, 2, 15, 0)

describe('My tasks grouping', () => {
  it('puts due dates in overdue, today, this week (to Sunday), later and no date', () => {
    expect(dueGroup(day('2026-12-01'), now)).toBe('overdue')
    expect(dueGroup(day('2026-12-02'), now)).toBe('today')
    expect(dueGroup(day('2026-12-03'), now)).toBe('week')
    expect(dueGroup(day('2026-12-06'), now)).toBe('week')
    expect(dueGroup(day('2026-12-07'), now)).toBe('later')
    expect(dueGroup(null, now)).toBe('none')
    // On a Sunday, the week ends today.
    expect(dueGroup(day('2026-12-07'), new Date(2026, 11, 6, 9))).toBe('later')
  })

  it('orders groups, sorts each by due date then number, and leaves empty groups out', () => {
    const groups = groupByDue([
      task({ id: 'n2', number: 2 }),
      task({ id: 'late', dueDate: day('2027-01-05') }),
      task({ id: 'w2', dueDate: day('2026-12-05') }),
      task({ id: 'w1', dueDate: day('2026-12-03') }),
      task({ id: 'old', dueDate: day('2026-11-01') }),
      task({ id: 'n1', number: 1 }),
    ], now)
    expect(groups.map(g => [g.group, g.tasks.map(t => t.id)])).toEqual([
      ['overdue', ['old']],
      ['week', ['w1', 'w2']],
      ['later', ['late']],
      ['none', ['n1', 'n2']],
    ])
  })

  it('moves a task from today to overdue when the store ticks past midnight', () => {
    setActivePinia(createPinia())
    const store = useMyTasksStore()
    store.set({ projects: [], tasks: [task({ id: 'a', dueDate: day('2026-12-02') })] })
    store.tick(now)
    expect(store.groups.map(g => g.group)).toEqual(['today'])
    store.tick(new Date(2026, 11, 3, 0, 0, 1))
    expect(store.groups.map(g => g.group)).toEqual(['overdue'])
  })
})

describe('applyMyTaskEvent', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  function storeWith(...tasks: Task[]) {
    const store = useMyTasksStore()
    store.set({ projects: [{ id: 'p1', key: 'WEB', name: 'Web', eventSeq: 0 }], tasks })
    return store
  }

  it('fetches a task created for me or assigned to me, and ignores other people’s', () => {
    const store = storeWith()
    const created = (assigneeId: string | null) => event('task.created', 'n', { task: { id: 'n', assigneeId, title: 'New' } })
    expect(applyMyTaskEvent(store, created('me'), 'me')).toEqual({ fetch: 'n' })
    expect(applyMyTaskEvent(store, created('ann'), 'me')).toEqual({})
    expect(applyMyTaskEvent(store, event('task.updated', 'x', { version: 3, changes: { assigneeId: { from: 'ann', to: 'me' } } }), 'me')).toEqual({ fetch: 'x' })
    expect(applyMyTaskEvent(store, event('task.updated', 'y', { version: 3, changes: { title: { from: 'a', to: 'b' } } }), 'me')).toEqual({})
    expect(store.ids).toEqual([])
  })

  it('drops a task assigned away or deleted', () => {
    const store = storeWith(task({ id: 'a' }), task({ id: 'b' }))
    applyMyTaskEvent(store, event('task.updated', 'a', { version: 2, changes: { assigneeId: { from: 'me', to: 'ann' } } }), 'me')
    applyMyTaskEvent(store, event('task.deleted', 'b', { version: 2, title: 'B' }), 'me')
    expect(store.ids).toEqual([])
  })

  it('patches edits and moves of a task it holds, never with an older version', () => {
    const store = storeWith(task({ id: 'a', version: 2 }))
    applyMyTaskEvent(store, event('task.updated', 'a', { version: 3, changes: { title: { from: 'Task a', to: 'Renamed' }, dueDate: { from: null, to: '2026-12-02T00:00:00.000Z' }, labels: { from: [], to: ['bug'] } } }), 'me')
    expect(store.byId.a).toMatchObject({ title: 'Renamed', version: 3, labels: ['bug'], dueDate: day('2026-12-02') })
    applyMyTaskEvent(store, event('task.moved', 'a', { version: 4, changes: { status: { from: 'TODO', to: 'DONE' }, position: { from: 'a0', to: 'a1' } } }), 'me')
    expect(store.byId.a).toMatchObject({ status: 'DONE', version: 4 })
    applyMyTaskEvent(store, event('task.updated', 'a', { version: 3, changes: { title: { from: 'x', to: 'Stale' } } }), 'me')
    expect(store.byId.a!.title).toBe('Renamed')
  })

  it('says when I left or was removed from the project, so its tasks go', () => {
    const store = storeWith(task({ id: 'a' }))
    expect(applyMyTaskEvent(store, event('member.removed', 'me', { userId: 'ann', role: 'MEMBER' }, 'member'), 'me')).toEqual({})
    expect(applyMyTaskEvent(store, event('member.removed', 'me', { userId: 'me', role: 'MEMBER' }, 'member'), 'me')).toEqual({ leftProject: true })
    store.removeProject('p1')
    expect(store.ids).toEqual([])
    expect(store.projectsById).toEqual({})
  })
})

describe('labels store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('gives each task label its colour, gray for unknown names, and follows label events', () => {
    const labels = useLabelsStore()
    labels.setMany(['p1', 'p2'], [
      { id: 'l1', projectId: 'p1', name: 'bug', color: 'red' },
      { id: 'l2', projectId: 'p2', name: 'bug', color: 'blue' },
    ])
    expect([labels.colorOf('p1', 'bug'), labels.colorOf('p2', 'bug'), labels.colorOf('p1', 'other')]).toEqual(['red', 'blue', 'gray'])
    labels.applyEvent(event('label.created', 'l3', { name: 'api', color: 'teal' }, 'label'))
    expect(labels.list('p1').map(l => l.name)).toEqual(['api', 'bug'])
    labels.applyEvent(event('label.updated', 'l1', { changes: { name: { from: 'bug', to: 'defect' }, color: { from: 'red', to: 'orange' } } }, 'label'))
    expect(labels.colorOf('p1', 'defect')).toBe('orange')
    expect(labels.colorOf('p1', 'bug')).toBe('gray')
    labels.applyEvent(event('label.deleted', 'l3', { name: 'api', color: 'teal' }, 'label'))
    expect(labels.list('p1').map(l => l.name)).toEqual(['defect'])
  })
})
