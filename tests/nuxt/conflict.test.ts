import { mountSuspended } from '@nuxt/test-utils/runtime'
import type { VueWrapper } from '@vue/test-utils'
import { setActivePinia, type Pinia } from 'pinia'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import TaskConflictDialog from '~/components/task/TaskConflictDialog.vue'
import TaskPanel from '~/components/task/TaskPanel.vue'
import { changedTaskFields, rebaseBase, type TaskConflict } from '~/composables/useTask'
import type { TaskFieldConflict } from '~~/shared/schemas/task'
import { useBoardStore } from '~/stores/board'
import { useProjectsStore } from '~/stores/projects'
import type { TaskDetail } from '~/utils/api'
import { signUp, taskInput } from '../factories'
import { serveRealRouter, type RealServer, type SignedInUser } from '../factories/realRouter'

/** The panel reacts through watchers and the router's answers: generous on a loaded machine, still bounded. */
const WAIT = { timeout: 5_000 }

const ana = { id: 'u-ana', username: 'ana', name: 'Ana' }
const created = new Date('2026-03-01T09:00:00Z')

function detail(version: number, overrides: Partial<TaskDetail> = {}): TaskDetail {
  return {
    id: 't1', projectId: 'p1', number: 12, title: 'Fix login', description: 'Steps:\n1. Open the page\n2. Sign in', status: 'TODO',
    priority: 'LOW', assigneeId: null, assignee: null, dueDate: null, labels: ['bug'], position: 'a0', version,
    createdById: ana.id, createdAt: created, updatedAt: new Date(created.getTime() + version * 60_000), ...overrides,
  } as TaskDetail
}

// --- the real router (tests/factories/realRouter.ts); Ana is a teammate who edits meanwhile -----

let server: RealServer
let projectId: string
let teammate: SignedInUser
beforeAll(async () => {
  server = await serveRealRouter()
  projectId = (await server.me.caller.project.create({ name: 'Web' })).id
  teammate = await signUp(server.db, { name: 'Ana' })
  await server.me.caller.member.add({ projectId, username: teammate.user.username, role: 'MEMBER' })
})
afterAll(() => server.close())

const newTask = () => server.me.caller.task.create(taskInput(projectId, { title: 'Fix login', description: 'Steps:\n1. Open the page\n2. Sign in', priority: 'LOW', labels: ['bug'] }))
const stored = (id: string) => server.db.prisma.task.findUniqueOrThrow({ where: { id } })
const updates = () => server.inputsOf('task.update')

// --- the panel, as the project page shows it -------------------------------------------------

let wrapper: VueWrapper | null = null

async function openPanel(task: { id: string, title: string }) {
  setActivePinia(useNuxtApp().$pinia as Pinia)
  const projects = useProjectsStore()
  projects.setCurrent(await server.me.caller.project.byId({ id: projectId }))
  projects.setMembers(await server.me.caller.member.list({ projectId }))
  useBoardStore().setTasks(projectId, await server.me.caller.task.list({ projectId }))
  // The Watch button has its own tests (notifications); here it would only add its call to the batches.
  wrapper = await mountSuspended(TaskPanel, { props: { taskId: task.id }, attachTo: document.body, global: { stubs: { NotificationWatchButton: true } } })
  await vi.waitFor(() => expect(wrapper!.find<HTMLInputElement>('#task-title').element.value).toBe(task.title), WAIT)
  return { panel: wrapper, title: wrapper.find<HTMLInputElement>('#task-title') }
}
const input = (w: VueWrapper, selector: string) => w.find<HTMLInputElement | HTMLSelectElement>(selector).element.value
const dialog = (w: VueWrapper) => w.find('[role="dialog"][aria-modal="true"]')
const radio = (w: VueWrapper, field: string, label: string) => {
  const group = dialog(w).findAll('fieldset').find(f => f.find('legend').text() === field)!
  return group.findAll('label').find(l => l.text() === label)!.find('input')
}
async function save(w: VueWrapper) {
  await w.find('form').trigger('submit')
}

beforeEach(() => {
  server.requests.length = 0
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

describe('conflict dialog in the task panel', () => {
  // Ana renames the task while I rename it and raise its priority on the version I opened.
  async function conflictOnSave() {
    const task = await newTask()
    const { panel, title } = await openPanel(task)
    const theirs = await teammate.caller.task.update({ id: task.id, baseVersion: task.version, patch: { title: 'Fix login on Safari' } })
    await title.setValue('Fix the login form')
    await panel.find('#task-priority').setValue('HIGH')
    await save(panel)
    await vi.waitFor(() => expect(dialog(panel).exists()).toBe(true), WAIT)
    return { panel, task, theirs }
  }

  it('shows theirs (who) vs mine per field; "Keep mine" sends my value and my other edits on the current version', async () => {
    const { panel, task, theirs } = await conflictOnSave()
    const d = dialog(panel)
    expect(d.attributes('aria-labelledby')).toBeTruthy()
    expect(panel.find(`#${d.attributes('aria-labelledby')}`).text()).toBe('Resolve conflicting changes')
    expect(d.text()).toContain('Fix login on Safari')
    expect(d.text()).toContain('Ana')
    expect(d.text()).toContain('Fix the login form')
    expect(document.activeElement).toBe(d.element)
    expect(updates()).toEqual([{ id: task.id, baseVersion: task.version, patch: { title: 'Fix the login form', priority: 'HIGH' } }])
    // The server refused all of it: nothing of mine is stored yet.
    expect(await stored(task.id)).toMatchObject({ title: 'Fix login on Safari', priority: 'LOW', version: theirs.version })

    await radio(panel, 'Title', 'Keep mine').setValue(true)
    await d.find('form').trigger('submit')
    await vi.waitFor(() => expect(updates()).toHaveLength(2), WAIT)
    expect(updates()[1]).toEqual({ id: task.id, baseVersion: theirs.version, patch: { title: 'Fix the login form', priority: 'HIGH' } })
    await vi.waitFor(() => expect(dialog(panel).exists()).toBe(false), WAIT)
    expect(input(panel, '#task-title')).toBe('Fix the login form')
    expect(await stored(task.id)).toMatchObject({ title: 'Fix the login form', priority: 'HIGH' })
  })

  it('"Take theirs" keeps their title and sends only my other edits', async () => {
    const { panel, task, theirs } = await conflictOnSave()
    await radio(panel, 'Title', 'Take theirs').setValue(true)
    await dialog(panel).find('form').trigger('submit')
    await vi.waitFor(() => expect(updates()).toHaveLength(2), WAIT)
    expect(updates()[1]).toEqual({ id: task.id, baseVersion: theirs.version, patch: { priority: 'HIGH' } })
    await vi.waitFor(() => expect(input(panel, '#task-title')).toBe('Fix login on Safari'), WAIT)
    expect(await stored(task.id)).toMatchObject({ title: 'Fix login on Safari', priority: 'HIGH' })
  })

  it('Escape closes the dialog with their value: nothing is sent, my other edit stays unsaved in the form', async () => {
    const { panel, task, theirs } = await conflictOnSave()
    await dialog(panel).trigger('keydown', { key: 'Escape' })
    await vi.waitFor(() => expect(dialog(panel).exists()).toBe(false), WAIT)
    expect(updates()).toHaveLength(1)
    expect(await stored(task.id)).toMatchObject({ title: 'Fix login on Safari', priority: 'LOW', version: theirs.version })
    expect(input(panel, '#task-title')).toBe('Fix login on Safari')
    expect(input(panel, '#task-priority')).toBe('HIGH')
    // The panel itself stays open (its Escape closes it; the dialog's must not).
    expect(panel.emitted('close')).toBeUndefined()
    expect(panel.text()).toContain('Your other edits are not saved yet')
  })
})

describe('TaskConflictDialog', () => {
  const at = new Date()
  const conflict = (conflicts: TaskFieldConflict[]): TaskConflict => ({ current: detail(7), conflicts, attempted: {} })

  it('shows the description as a text diff and applies an edited merge', async () => {
    const description: TaskFieldConflict = {
      field: 'description',
      base: 'Steps:\n1. Open the page',
      theirs: { value: 'Steps:\n1. Open the login page', actor: ana, at },
      mine: 'Steps:\n1. Open the page\n2. Type <b>wrong</b> password',
    }
    const status: TaskFieldConflict = { field: 'status', base: 'TODO', theirs: { value: 'DONE', actor: null, at }, mine: 'IN_REVIEW' }
    const w = await mountSuspended(TaskConflictDialog, { props: { conflict: conflict([description, status]) } })

    // Insertions and deletions as text, never as HTML.
    expect(w.findAll('ins').map(e => e.text()).join('')).toContain('2. Type <b>wrong</b> password')
    expect(w.findAll('del').map(e => e.text()).join('')).toContain('login ')
    expect(w.find('b').exists()).toBe(false)
    expect(w.text()).toContain('Done')
    expect(w.text()).toContain('In review')
    // Each side says whose it is: the description's legend and the status's two columns.
    expect(w.find('.diff-legend').text()).toMatch(/Only in Ana’s version \(saved \d\d:\d\d\) · Only in your version/)
    expect(w.findAll('dt').map(e => e.text())).toEqual([expect.stringMatching(/^The other version \(saved \d\d:\d\d\)/), 'Your version'])

    const choose = (field: string, label: string) => w.findAll('fieldset').find(f => f.find('legend').text() === field)!
      .findAll('label').find(l => l.text() === label)!.find('input').setValue(true)
    await choose('Description', 'Edit a merge')
    const merged = w.find<HTMLTextAreaElement>('textarea')
    // Prefilled with my change laid over theirs.
    expect(merged.element.value).toBe('Steps:\n1. Open the login page\n2. Type <b>wrong</b> password')
    await merged.setValue('Steps:\n1. Open the login page\n2. Type a wrong password')
    await choose('Status', 'Take theirs')
    await w.find('form').trigger('submit')
    expect(w.emitted('apply')).toEqual([[{ description: 'Steps:\n1. Open the login page\n2. Type a wrong password', status: 'DONE' }]])
  })

  it('diffs the description by whole words, not characters', async () => {
    const description: TaskFieldConflict = {
      field: 'description', base: 'Open the page', theirs: { value: 'Open the login page', actor: ana, at }, mine: 'Open the logout page',
    }
    const w = await mountSuspended(TaskConflictDialog, { props: { conflict: conflict([description]) } })
    expect(w.findAll('del').map(e => e.text()).slice(1)).toEqual(['login'])
    expect(w.findAll('ins').map(e => e.text()).slice(1)).toEqual(['logout'])
  })

  it('keeps Tab inside while open', async () => {
    const w = await mountSuspended(TaskConflictDialog, {
      props: { conflict: conflict([{ field: 'priority', base: 'LOW', theirs: { value: 'HIGH', actor: ana, at }, mine: 'URGENT' }]) },
      attachTo: document.body,
    })
    const buttons = w.findAll('button')
    const last = buttons.at(-1)!.element as HTMLElement
    last.focus()
    await w.find('[role="dialog"]').trigger('keydown', { key: 'Tab' })
    expect(document.activeElement).toBe(w.find('input[type="radio"]').element)
    w.unmount()
  })
})

describe('rebasing unsaved edits onto remote changes', () => {
  it('the rule: the base moves only while nobody else changed a field being edited', () => {
    expect(rebaseBase({ baseVersion: 4, theirsSinceBase: [] }, { version: 5, changed: ['priority'] }, ['title'])).toEqual({ baseVersion: 5, theirsSinceBase: [] })
    const stale = rebaseBase({ baseVersion: 4, theirsSinceBase: [] }, { version: 5, changed: ['title'] }, ['title'])
    expect(stale).toEqual({ baseVersion: 4, theirsSinceBase: ['title'] })
    // Once stale, a later unrelated change does not hide the overlap from the server.
    expect(rebaseBase(stale, { version: 6, changed: ['labels'] }, ['title'])).toEqual({ baseVersion: 4, theirsSinceBase: ['title', 'labels'] })
    expect(changedTaskFields(detail(1), detail(2, { dueDate: new Date('2026-04-01T00:00:00Z'), labels: ['bug', 'ui'] }))).toEqual(['dueDate', 'labels'])
  })

  /** Ana's change, as the live stream would bring it to the board (the panel then reads the task again). */
  async function remoteChange(task: { id: string, version: number }, patch: Parameters<SignedInUser['caller']['task']['update']>[0]['patch']) {
    const fresh = await teammate.caller.task.update({ id: task.id, baseVersion: task.version, patch })
    useBoardStore().patch(task.id, { version: fresh.version, title: fresh.title, priority: fresh.priority })
    return fresh
  }

  it('a remote change to another field shows their value, keeps my edit, and the next save is based on their version', async () => {
    const task = await newTask()
    const { panel, title } = await openPanel(task)
    await title.setValue('Fix the login form')
    const fresh = await remoteChange(task, { priority: 'URGENT' })
    await vi.waitFor(() => expect(input(panel, '#task-priority')).toBe('URGENT'), WAIT)
    expect(input(panel, '#task-title')).toBe('Fix the login form')
    expect(panel.text()).toContain('changed by someone else')

    await save(panel)
    await vi.waitFor(() => expect(updates()).toHaveLength(1), WAIT)
    expect(updates()[0]).toEqual({ id: task.id, baseVersion: fresh.version, patch: { title: 'Fix the login form' } })
    await vi.waitFor(async () => expect(await stored(task.id)).toMatchObject({ title: 'Fix the login form', priority: 'URGENT' }), WAIT)
  })

  it('a remote change to the field I am editing keeps my text and the old base, so the server merges or asks', async () => {
    const task = await newTask()
    const { panel, title } = await openPanel(task)
    await title.setValue('Fix the login form')
    await panel.find('#task-priority').setValue('HIGH')
    await remoteChange(task, { title: 'Fix login on Safari', labels: ['bug', 'safari'] })
    // The labels are chips (components/label/LabelInput.vue), each with its remove button.
    const chips = () => panel.findAll('button[aria-label^="Remove label "]').map(b => b.attributes('aria-label')!.slice('Remove label '.length))
    await vi.waitFor(() => expect(chips()).toEqual(['bug', 'safari']), WAIT)
    expect(input(panel, '#task-title')).toBe('Fix the login form')
    expect(panel.text()).toContain('they also changed a field you are editing')

    await save(panel)
    await vi.waitFor(() => expect(updates()).toHaveLength(1), WAIT)
    expect(updates()[0]).toEqual({ id: task.id, baseVersion: task.version, patch: { title: 'Fix the login form', priority: 'HIGH' } })
    // Both changed the title: the server asks.
    await vi.waitFor(() => expect(dialog(panel).exists()).toBe(true), WAIT)
    expect(dialog(panel).text()).toContain('Fix login on Safari')
  })
})
