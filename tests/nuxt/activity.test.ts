import { mountSuspended } from '@nuxt/test-utils/runtime'
import { setActivePinia, type Pinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
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
import { signUp, taskInput } from '../factories'
import { serveRealRouter, type RealServer } from '../factories/realRouter'

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

// --- the feed component against the real router: first page, older pages, live entries -------------

let server: RealServer
beforeAll(async () => {
  server = await serveRealRouter()
})
afterAll(() => server.close())

const listRequests = () => server.paths().filter(p => p === 'activity.list').length

/** A project of the signed-in user with Ana as a member and the task "Fix login", as the app's stores hold them. */
async function projectWithAna() {
  const me = server.me
  const project = await me.caller.project.create({ name: 'Web', key: `W${Math.random().toString(36).slice(2, 6).toUpperCase()}` })
  const ana = await signUp(server.db, { name: 'Ana' })
  await me.caller.member.add({ projectId: project.id, username: ana.user.username, role: 'MEMBER' })
  const task = await me.caller.task.create(taskInput(project.id, { title: 'Fix login' }))
  const projects = useProjectsStore()
  projects.setCurrent(await me.caller.project.byId({ id: project.id }))
  projects.setMembers(await me.caller.member.list({ projectId: project.id }))
  return { project, ana, task, key: `${project.key}-${task.number}` }
}

describe('ActivityFeed', () => {
  beforeEach(() => {
    // Mounted components use the app's Pinia.
    setActivePinia(useNuxtApp().$pinia as Pinia)
  })

  it('shows sentences, loads older entries with the cursor, and prepends live events once', async () => {
    const { project, ana, task, key } = await projectWithAna()
    const me = server.me
    // 30 priority changes taking turns (so none are grouped), then Ana's move: a page and a bit.
    let version = task.version
    for (let i = 0; i < 30; i++) {
      const who = i % 2 === 1 ? me : ana
      version = (await who.caller.task.update({ id: task.id, baseVersion: version, patch: { priority: i % 2 === 0 ? 'HIGH' : 'LOW' } })).version
    }
    const moved = await ana.caller.task.move({ id: task.id, status: 'DONE' })
    useBoardStore().setTasks(project.id, [moved])
    // A host that also publishes live events, as useProjectLive does.
    let broadcast!: ReturnType<typeof useActivityBroadcast>
    const Host = defineComponent({
      setup() {
        broadcast = useActivityBroadcast()
        return () => h(ActivityFeed, { projectId: project.id })
      },
    })
    const wrapper = await mountSuspended(Host)
    const entries = () => wrapper.findAll('li p').map(p => p.text())

    await vi.waitFor(() => expect(entries()).toHaveLength(30))
    expect(entries()[0]).toBe(`Ana moved ${key} 'Fix login' to Done · just now`)
    expect(entries()[1]).toBe(`${me.user.name} changed the priority of ${key} 'Fix login' from High to Low · just now`)
    expect(wrapper.find('a.target').attributes('href')).toContain(`task=${task.id}`)
    expect(listRequests()).toBe(1)

    await wrapper.findAll('button').find(b => b.text() === 'Load more')!.trigger('click')
    await vi.waitFor(() => expect(entries().length).toBeGreaterThan(30))
    expect(entries()).toContainEqual(expect.stringContaining(`${me.user.name} added Ana to the project`))
    expect(entries()).toContain(`Ana changed the priority of ${key} 'Fix login' from No priority to High · just now`)
    expect(listRequests()).toBe(2)
    expect(wrapper.findAll('button').some(b => b.text() === 'Load more')).toBe(false)
    const loaded = entries().length

    // The live event is the one useProjectLive hands on from the socket (its own tests cover the socket).
    const live: ProjectEvent = {
      id: 'e-live', projectId: project.id, seq: 10_000, type: 'comment.created', actorId: me.user.id, entityType: 'comment', entityId: 'c-live',
      data: { taskId: task.id, body: 'Ship it' }, createdAt: new Date(),
    }
    broadcast(project.id, live)
    broadcast(project.id, live) // a replay after a reconnect
    broadcast('other-project', { ...live, seq: 10_001, projectId: 'other-project' })
    await vi.waitFor(() => expect(entries()).toHaveLength(loaded + 1))
    // (someone other than the author of the newest entry, whose group it would join)
    expect(entries()[0]).toBe(`${me.user.name} commented on ${key} 'Fix login': “Ship it” · just now`)
    // Live entries come from the event itself: no refetch.
    expect(listRequests()).toBe(2)
  })

  it('in a task, only that task\'s entries, with the task left implicit', async () => {
    const { project, ana, task: other } = await projectWithAna()
    const me = server.me
    const task = await me.caller.task.create(taskInput(project.id, { title: 'Add SSO' }))
    await ana.caller.task.update({ id: task.id, baseVersion: task.version, patch: { priority: 'HIGH' } })
    await ana.caller.task.update({ id: other.id, baseVersion: other.version, patch: { title: 'Fix the login' } })
    useBoardStore().setTasks(project.id, [task, other])
    let broadcast!: ReturnType<typeof useActivityBroadcast>
    const Host = defineComponent({
      setup() {
        broadcast = useActivityBroadcast()
        return () => h(ActivityFeed, { projectId: project.id, taskId: task.id })
      },
    })
    const wrapper = await mountSuspended(Host)
    const entries = () => wrapper.findAll('li p').map(p => p.text())
    // Ana's change and the creation; not her rename of the other task.
    await vi.waitFor(() => expect(entries()).toHaveLength(2))
    expect(entries()[0]).toBe('Ana changed priority from No priority to High · just now')

    const base = { projectId: project.id, actorId: me.user.id, entityType: 'task' as const, createdAt: new Date() }
    broadcast(project.id, { ...base, id: 'x1', seq: 600, type: 'task.updated', entityId: other.id, data: { version: 3, changes: { title: { from: 'a', to: 'b' } } } })
    broadcast(project.id, { ...base, id: 'x2', seq: 601, type: 'task.moved', entityId: task.id, data: { version: 3, changes: { status: { from: 'TODO', to: 'DONE' } } } })
    await vi.waitFor(() => expect(entries()).toHaveLength(3))
    expect(entries()[0]).toBe(`${me.user.name} moved this task to Done · just now`)
  })
})
