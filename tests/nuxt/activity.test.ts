import { mountSuspended, registerEndpoint } from '@nuxt/test-utils/runtime'
import { getQuery } from 'h3'
import { setActivePinia, type Pinia } from 'pinia'
import superjson from 'superjson'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import ActivityFeed from '~/components/activity/ActivityFeed.vue'
import { useActivityBroadcast } from '~/composables/useActivity'
import type { ProjectEvent } from '~~/shared/events'
import { useBoardStore } from '~/stores/board'
import { useProjectsStore } from '~/stores/projects'
import {
  eventToActivityItem, groupActivity, groupSentence, itemSentence, mergeActivity, sentenceText, timeAgo,
  type ActivityItem, type ActivityNames, type EventLookup,
} from '~/utils/activity'
import type { Member, Project, Task } from '~/utils/api'

const ana = { id: 'u-ana', username: 'ana', name: 'Ana' }
const ben = { id: 'u-ben', username: 'ben', name: 'Ben' }
const cara = { id: 'u-cara', username: 'cara', name: 'Cara' }
const dan = { id: 'u-dan', username: 'dan', name: 'Dan' }
const people = [ana, ben, cara, dan]
const names: ActivityNames = { member: id => people.find(p => p.id === id)?.name }

const fixLogin = { kind: 'task' as const, id: 't12', taskId: 't12', title: 'Fix login', key: 'WEB-12' }
const t0 = new Date('2026-03-02T10:00:00Z')
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000)

let seq = 100
function item(overrides: Partial<ActivityItem> & Pick<ActivityItem, 'type'>): ActivityItem {
  seq += 1
  return { seq, at: t0, actor: ben, target: fixLogin, changes: [], ...overrides }
}
const change = (field: string, from: unknown, to: unknown) => ({ field, from, to })
const text = (i: ActivityItem, inTask = false) => sentenceText(itemSentence(i, { names, inTask }))

describe('activity sentences', () => {
  it('says what changed, with values as people read them', () => {
    const priority = item({ type: 'task.updated', changes: [change('priority', 'LOW', 'HIGH')] })
    expect(text(priority, true)).toBe('Ben changed priority from Low to High')
    expect(text(priority)).toBe('Ben changed the priority of WEB-12 \'Fix login\' from Low to High')

    const moved = item({ type: 'task.moved', actor: ana, changes: [change('status', 'IN_PROGRESS', 'DONE'), change('position', 'a0', 'a1')] })
    expect(text(moved)).toBe('Ana moved WEB-12 \'Fix login\' to Done')
    expect(text(moved, true)).toBe('Ana moved this task to Done')

    const assigned = item({ type: 'task.updated', changes: [change('assigneeId', null, cara.id), change('dueDate', null, '2026-03-05T00:00:00.000Z')] })
    expect(text(assigned)).toBe('Ben assigned WEB-12 \'Fix login\' to Cara and set the due date to Mar 5')

    const labels = item({ type: 'task.updated', changes: [change('labels', ['bug', 'old'], ['bug', 'ui', 'auth'])] })
    expect(text(labels, true)).toBe('Ben added the labels ui and auth and removed the label old')

    const renamed = item({ type: 'task.updated', changes: [change('title', 'Login broken', 'Fix login')] })
    expect(text(renamed)).toBe('Ben renamed WEB-12 from \'Login broken\' to \'Fix login\'')
  })

  it('comments, members and the project', () => {
    const comment = item({ type: 'comment.created', actor: cara, target: { ...fixLogin, kind: 'comment', id: 'c1' }, changes: [change('body', null, 'Works on\nmy machine')] })
    expect(text(comment)).toBe('Cara commented on WEB-12 \'Fix login\': “Works on my machine”')
    const added = item({ type: 'member.added', actor: dan, target: { kind: 'member', id: ben.id, taskId: null, title: 'Ben', key: null }, changes: [change('role', null, 'MEMBER')] })
    expect(text(added)).toBe('Dan added Ben to the project')
    const role = item({ type: 'member.roleChanged', actor: dan, target: { kind: 'member', id: ben.id, taskId: null, title: 'Ben', key: null }, changes: [change('role', 'MEMBER', 'ADMIN')] })
    expect(text(role)).toBe('Dan changed Ben\'s role from Member to Admin')
    const left = item({ type: 'member.left', actor: ben, target: { kind: 'member', id: ben.id, taskId: null, title: 'Ben', key: null } })
    expect(text(left)).toBe('Ben left the project')
    const gone = item({ type: 'task.updated', actor: null, changes: [change('priority', 'LOW', 'HIGH')] })
    expect(text(gone, true)).toBe('Someone changed priority from Low to High')
  })

  it('labels', () => {
    const target = (title: string) => ({ kind: 'label' as const, id: 'l1', taskId: null, title, key: null })
    expect(text(item({ type: 'label.created', actor: dan, target: target('bug') }))).toBe('Dan created the label \'bug\'')
    const renamed = item({ type: 'label.updated', actor: dan, target: target('defect'), changes: [change('name', 'bug', 'defect'), change('color', 'red', 'orange')] })
    expect(text(renamed)).toBe('Dan renamed the label \'bug\' to \'defect\' and changed the colour of the label \'defect\' to orange')
    expect(text(item({ type: 'label.deleted', actor: dan, target: target('later') }))).toBe('Dan deleted the label \'later\'')
  })

  it('the target links to its task', () => {
    const moved = item({ type: 'task.moved', actor: ana, changes: [change('status', 'TODO', 'DONE')] })
    const target = itemSentence(moved, { names }).find(s => s.kind === 'target')
    expect(target).toEqual({ text: 'WEB-12 \'Fix login\'', kind: 'target', taskId: 't12' })
  })

  it('relative times', () => {
    expect(timeAgo(at(0), at(0.5))).toBe('just now')
    expect(timeAgo(at(0), at(2))).toBe('2 min ago')
    expect(timeAgo(at(0), at(180))).toBe('3 h ago')
  })
})

describe('grouping', () => {
  it('one person\'s changes in a row to one task are one sentence, repeated fields collapsed', () => {
    // newest first, as the feed is
    const items = [
      item({ type: 'comment.created', at: at(4), target: { ...fixLogin, kind: 'comment', id: 'c9' }, changes: [change('body', null, 'Done')] }),
      item({ type: 'task.updated', at: at(3), changes: [change('priority', 'HIGH', 'URGENT')] }),
      item({ type: 'task.moved', at: at(2), changes: [change('status', 'TODO', 'IN_PROGRESS')] }),
      item({ type: 'task.updated', at: at(1), changes: [change('priority', 'LOW', 'HIGH')] }),
    ]
    const groups = groupActivity(items)
    expect(groups).toHaveLength(1)
    expect(groups[0]!.at).toEqual(at(4))
    expect(sentenceText(groupSentence(groups[0]!, { names }))).toBe(
      'Ben changed the priority of WEB-12 \'Fix login\' from Low to Urgent, moved it to In progress and commented: “Done”',
    )
    expect(sentenceText(groupSentence(groups[0]!, { names, inTask: true }))).toBe(
      'Ben changed priority from Low to Urgent, moved this task to In progress and commented',
    )
  })

  it('someone else in between, another task, or a long pause starts a new group', () => {
    const other = { ...fixLogin, id: 't13', taskId: 't13', title: 'Add SSO', key: 'WEB-13' }
    const items = [
      item({ type: 'task.updated', at: at(40), changes: [change('priority', 'LOW', 'HIGH')] }),
      item({ type: 'task.updated', at: at(5), changes: [change('priority', 'NONE', 'LOW')] }),
      item({ type: 'task.updated', at: at(4), actor: ana, changes: [change('title', 'Login', 'Fix login')] }),
      item({ type: 'task.updated', at: at(3), changes: [change('description', 'a', 'b')] }),
      item({ type: 'task.updated', at: at(2), target: other, changes: [change('status', 'TODO', 'DONE')] }),
    ]
    const groups = groupActivity(items)
    expect(groups.map(g => sentenceText(groupSentence(g, { names })))).toEqual([
      'Ben moved WEB-13 \'Add SSO\' to Done',
      'Ben edited the description of WEB-12 \'Fix login\'',
      'Ana renamed WEB-12 from \'Login\' to \'Fix login\'',
      'Ben changed the priority of WEB-12 \'Fix login\' from No priority to Low',
      'Ben changed the priority of WEB-12 \'Fix login\' from Low to High',
    ].reverse())
  })

  it('merges pages and live entries by seq, newest first, without duplicates', () => {
    const a = item({ type: 'task.updated' })
    const b = item({ type: 'task.updated' })
    const c = item({ type: 'task.updated' })
    expect(mergeActivity([c, b], [b, a]).map(i => i.seq)).toEqual([c.seq, b.seq, a.seq])
  })
})

describe('live events as entries', () => {
  const lookup: EventLookup = {
    member: id => people.find(p => p.id === id),
    task: id => (id === 't12' ? { title: 'Fix login', key: 'WEB-12' } : undefined),
    projectKey: 'WEB',
  }
  const event = (type: string, entityType: ProjectEvent['entityType'], entityId: string, data: ProjectEvent['data'], actorId = ana.id): ProjectEvent =>
    ({ id: `e${++seq}`, projectId: 'p1', seq, type, actorId, entityType, entityId, data, createdAt: at(0) })

  it('reads like the server\'s entries', () => {
    const moved = eventToActivityItem(event('task.moved', 'task', 't12', { version: 3, changes: { status: { from: 'TODO', to: 'DONE' }, position: { from: 'a', to: 'b' } } }), lookup)
    expect(text(moved)).toBe('Ana moved WEB-12 \'Fix login\' to Done')
    const created = eventToActivityItem(event('task.created', 'task', 't14', { task: { title: 'Ship it', number: 14 } }), lookup)
    expect(text(created)).toBe('Ana created WEB-14 \'Ship it\'')
    const comment = eventToActivityItem(event('comment.created', 'comment', 'c1', { taskId: 't12', body: 'On it' }, cara.id), lookup)
    expect(comment.target).toMatchObject({ kind: 'comment', taskId: 't12' })
    expect(text(comment)).toBe('Cara commented on WEB-12 \'Fix login\': “On it”')
    const added = eventToActivityItem(event('member.added', 'member', ben.id, { userId: ben.id, username: 'ben', name: 'Ben', role: 'MEMBER' }, dan.id), lookup)
    expect(text(added)).toBe('Dan added Ben to the project')
  })
})

// --- the feed component: first page, older pages, live entries ----------------------------------

const members: Member[] = people.map(p => ({ ...p, role: 'MEMBER' }) as Member)
let listCalls: Record<string, unknown>[] = []
let pages: Record<string, { items: ActivityItem[], nextCursor: string | null }> = {}

registerEndpoint('/api/trpc/activity.list', {
  method: 'GET',
  handler: (event) => {
    const input = superjson.deserialize<Record<string, unknown>>(JSON.parse(String(getQuery(event).input))['0'])
    listCalls.push(input)
    return [{ result: { data: superjson.serialize(pages[String(input.cursor ?? 'first')]) } }]
  },
})

describe('ActivityFeed', () => {
  beforeEach(() => {
    // Mounted components use the app's Pinia.
    setActivePinia(useNuxtApp().$pinia as Pinia)
    listCalls = []
    const projects = useProjectsStore()
    projects.setCurrent({ id: 'p1', key: 'WEB', name: 'Web', role: 'MEMBER' } as Project)
    projects.setMembers(members)
    useBoardStore().setTasks('p1', [{ id: 't12', projectId: 'p1', number: 12, title: 'Fix login', version: 1 } as Task])
  })

  it('shows sentences, loads older entries with the cursor, and prepends live events once', async () => {
    const now = new Date()
    pages = {
      first: {
        items: [
          item({ type: 'task.moved', seq: 60, at: now, actor: ana, changes: [change('status', 'TODO', 'DONE')] }),
          item({ type: 'task.updated', seq: 55, at: new Date(now.getTime() - 3600_000), changes: [change('priority', 'LOW', 'HIGH')] }),
        ],
        nextCursor: '50',
      },
      50: { items: [item({ type: 'member.added', at: new Date(now.getTime() - 7200_000), actor: dan, seq: 40, target: { kind: 'member', id: ben.id, taskId: null, title: 'Ben', key: null } })], nextCursor: null },
    }
    // A host that also publishes live events, as useProjectLive does.
    let broadcast!: ReturnType<typeof useActivityBroadcast>
    const Host = defineComponent({
      setup() {
        broadcast = useActivityBroadcast()
        return () => h(ActivityFeed, { projectId: 'p1' })
      },
    })
    const wrapper = await mountSuspended(Host)
    const entries = () => wrapper.findAll('li p').map(p => p.text())

    await vi.waitFor(() => expect(entries()).toHaveLength(2))
    expect(entries()[0]).toBe('Ana moved WEB-12 \'Fix login\' to Done · just now')
    expect(entries()[1]).toBe('Ben changed the priority of WEB-12 \'Fix login\' from Low to High · 1 h ago')
    expect(wrapper.find('a.target').attributes('href')).toContain('task=t12')
    expect(listCalls).toEqual([{ projectId: 'p1', limit: 30 }])

    await wrapper.findAll('button').find(b => b.text() === 'Load more')!.trigger('click')
    await vi.waitFor(() => expect(entries()).toHaveLength(3))
    expect(entries()[2]).toContain('Dan added Ben to the project')
    expect(listCalls[1]).toEqual({ projectId: 'p1', cursor: '50', limit: 30 })
    expect(wrapper.findAll('button').some(b => b.text() === 'Load more')).toBe(false)

    const live: ProjectEvent = {
      id: 'e-live', projectId: 'p1', seq: 500, type: 'comment.created', actorId: cara.id, entityType: 'comment', entityId: 'c-live',
      data: { taskId: 't12', body: 'Ship it' }, createdAt: new Date(),
    }
    broadcast('p1', live)
    broadcast('p1', live) // a replay after a reconnect
    broadcast('other-project', { ...live, seq: 501, projectId: 'other-project' })
    await vi.waitFor(() => expect(entries()).toHaveLength(4))
    expect(entries()[0]).toBe('Cara commented on WEB-12 \'Fix login\': “Ship it” · just now')
    // Live entries come from the event itself: no refetch.
    expect(listCalls).toHaveLength(2)
  })

  it('in a task, only that task\'s entries, with the task left implicit', async () => {
    const now = new Date()
    pages = { first: { items: [item({ type: 'task.updated', at: now, changes: [change('priority', 'LOW', 'HIGH')] })], nextCursor: null } }
    let broadcast!: ReturnType<typeof useActivityBroadcast>
    const Host = defineComponent({
      setup() {
        broadcast = useActivityBroadcast()
        return () => h(ActivityFeed, { projectId: 'p1', taskId: 't12' })
      },
    })
    const wrapper = await mountSuspended(Host)
    const entries = () => wrapper.findAll('li p').map(p => p.text())
    await vi.waitFor(() => expect(entries()).toEqual(['Ben changed priority from Low to High · just now']))
    expect(listCalls).toEqual([{ projectId: 'p1', taskId: 't12', limit: 30 }])

    const base = { projectId: 'p1', actorId: ana.id, entityType: 'task' as const, createdAt: new Date() }
    broadcast('p1', { ...base, id: 'x1', seq: 600, type: 'task.updated', entityId: 't99', data: { version: 2, changes: { title: { from: 'a', to: 'b' } } } })
    broadcast('p1', { ...base, id: 'x2', seq: 601, type: 'task.moved', entityId: 't12', data: { version: 2, changes: { status: { from: 'TODO', to: 'DONE' } } } })
    await vi.waitFor(() => expect(entries()).toHaveLength(2))
    expect(entries()[0]).toBe('Ana moved this task to Done · just now')
  })
})
