import { mountSuspended, registerEndpoint } from '@nuxt/test-utils/runtime'
import type { VueWrapper } from '@vue/test-utils'
import { getQuery, readBody, type H3Event } from 'h3'
import { setActivePinia, type Pinia } from 'pinia'
import superjson from 'superjson'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import TaskConflictDialog from '~/components/task/TaskConflictDialog.vue'
import TaskPanel from '~/components/task/TaskPanel.vue'
import { changedTaskFields, rebaseBase, type TaskConflict } from '~/composables/useTask'
import type { TaskFieldConflict } from '~~/shared/schemas/task'
import { useBoardStore } from '~/stores/board'
import { useProjectsStore } from '~/stores/projects'
import type { Member, Project, Task, TaskDetail } from '~/utils/api'

/** The panel reacts through watchers and a mocked tRPC link: generous on a loaded machine, still bounded. */
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
const card = ({ description: _, createdById: __, createdAt: ___, ...rest }: TaskDetail) => rest as Task

// --- a fake API: calls recorded in order; answers set per test --------------------------------

type Input = Record<string, unknown>
let calls: { path: string, input: Input }[] = []
let replies: Record<string, (input: Input) => unknown> = {}
const ok = (data: unknown) => ({ result: { data: superjson.serialize(data) } })
const conflictReply = (current: TaskDetail, conflicts: TaskFieldConflict[]) => ({
  error: superjson.serialize({ message: `Task t1 was changed by someone else`, code: -32009, data: { code: 'CONFLICT', httpStatus: 409, details: { current, conflicts } } }),
})

function answer(paths: string[], inputs: (Input | undefined)[]) {
  return paths.map((path, i) => {
    const input = inputs[i] ?? {}
    calls.push({ path, input })
    return replies[path]!(input)
  })
}
for (const paths of [['task.byId', 'comment.list'], ['task.byId'], ['comment.list'], ['activity.list']]) {
  registerEndpoint(`/api/trpc/${paths.join(',')}`, {
    method: 'GET',
    handler: (event: H3Event) => {
      const raw = JSON.parse(String(getQuery(event).input)) as Record<string, Parameters<typeof superjson.deserialize>[0]>
      return answer(paths, paths.map((_, i) => superjson.deserialize<Input>(raw[String(i)]!)))
    },
  })
}
registerEndpoint('/api/trpc/task.update', {
  method: 'POST',
  handler: async (event: H3Event) => {
    const body = await readBody<Record<string, Parameters<typeof superjson.deserialize>[0]>>(event)
    return answer(['task.update'], [superjson.deserialize<Input>(body['0']!)])
  },
})
const updates = () => calls.filter(c => c.path === 'task.update').map(c => c.input)

// --- the panel, as the project page shows it -------------------------------------------------

let wrapper: VueWrapper | null = null

async function openPanel(task: TaskDetail) {
  setActivePinia(useNuxtApp().$pinia as Pinia)
  const projects = useProjectsStore()
  projects.setCurrent({ id: 'p1', key: 'WEB', name: 'Web', role: 'MEMBER', eventSeq: 0 } as unknown as Project)
  projects.setMembers([{ ...ana, role: 'MEMBER' } as Member])
  useBoardStore().setTasks('p1', [card(task)])
  replies['task.byId'] = () => ok(task)
  // The Watch button has its own tests (notifications); here it would only add its call to the batches.
  wrapper = await mountSuspended(TaskPanel, { props: { taskId: 't1' }, attachTo: document.body, global: { stubs: { NotificationWatchButton: true } } })
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
  calls = []
  replies = {
    'comment.list': () => ok([]),
    'activity.list': () => ok({ items: [], nextCursor: null }),
  }
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

describe('conflict dialog in the task panel', () => {
  // Ana renamed the task (version 5) while I renamed it and raised its priority on version 4.
  const theirs = detail(5, { title: 'Fix login on Safari' })
  const titleConflict: TaskFieldConflict = { field: 'title', base: 'Fix login', theirs: { value: 'Fix login on Safari', actor: ana, at: theirs.updatedAt }, mine: 'Fix the login form' }

  async function conflictOnSave() {
    const { panel, title } = await openPanel(detail(4))
    await title.setValue('Fix the login form')
    await panel.find('#task-priority').setValue('HIGH')
    replies['task.update'] = () => conflictReply(theirs, [titleConflict])
    await save(panel)
    await vi.waitFor(() => expect(dialog(panel).exists()).toBe(true), WAIT)
    return panel
  }

  it('shows theirs (who) vs mine per field; "Keep mine" sends my value and my other edits on the current version', async () => {
    const panel = await conflictOnSave()
    const d = dialog(panel)
    expect(d.attributes('aria-labelledby')).toBeTruthy()
    expect(panel.find(`#${d.attributes('aria-labelledby')}`).text()).toBe('Resolve conflicting changes')
    expect(d.text()).toContain('Fix login on Safari')
    expect(d.text()).toContain('Ana')
    expect(d.text()).toContain('Fix the login form')
    expect(document.activeElement).toBe(d.element)
    expect(updates()).toEqual([{ id: 't1', baseVersion: 4, patch: { title: 'Fix the login form', priority: 'HIGH' } }])

    replies['task.update'] = () => ok(detail(6, { title: 'Fix the login form', priority: 'HIGH' }))
    await radio(panel, 'Title', 'Keep mine').setValue(true)
    await d.find('form').trigger('submit')
    await vi.waitFor(() => expect(updates()).toHaveLength(2), WAIT)
    expect(updates()[1]).toEqual({ id: 't1', baseVersion: 5, patch: { title: 'Fix the login form', priority: 'HIGH' } })
    await vi.waitFor(() => expect(dialog(panel).exists()).toBe(false), WAIT)
    expect(input(panel, '#task-title')).toBe('Fix the login form')
  })

  it('"Take theirs" keeps their title and sends only my other edits', async () => {
    const panel = await conflictOnSave()
    replies['task.update'] = () => ok(detail(6, { title: 'Fix login on Safari', priority: 'HIGH' }))
    await radio(panel, 'Title', 'Take theirs').setValue(true)
    await dialog(panel).find('form').trigger('submit')
    await vi.waitFor(() => expect(updates()).toHaveLength(2), WAIT)
    expect(updates()[1]).toEqual({ id: 't1', baseVersion: 5, patch: { priority: 'HIGH' } })
    await vi.waitFor(() => expect(input(panel, '#task-title')).toBe('Fix login on Safari'), WAIT)
  })

  it('Escape closes the dialog with their value: nothing is sent, my other edit stays unsaved in the form', async () => {
    const panel = await conflictOnSave()
    await dialog(panel).trigger('keydown', { key: 'Escape' })
    await vi.waitFor(() => expect(dialog(panel).exists()).toBe(false), WAIT)
    expect(updates()).toHaveLength(1)
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

  async function remoteChange(fresh: TaskDetail) {
    replies['task.byId'] = () => ok(fresh)
    useBoardStore().patch('t1', { version: fresh.version, title: fresh.title, priority: fresh.priority })
  }

  it('a remote change to another field shows their value, keeps my edit, and the next save is based on their version', async () => {
    const { panel, title } = await openPanel(detail(4))
    await title.setValue('Fix the login form')
    await remoteChange(detail(5, { priority: 'URGENT' }))
    await vi.waitFor(() => expect(input(panel, '#task-priority')).toBe('URGENT'), WAIT)
    expect(input(panel, '#task-title')).toBe('Fix the login form')
    expect(panel.text()).toContain('changed by someone else')

    replies['task.update'] = () => ok(detail(6, { title: 'Fix the login form', priority: 'URGENT' }))
    await save(panel)
    await vi.waitFor(() => expect(updates()).toHaveLength(1), WAIT)
    expect(updates()[0]).toEqual({ id: 't1', baseVersion: 5, patch: { title: 'Fix the login form' } })
  })

  it('a remote change to the field I am editing keeps my text and the old base, so the server merges or asks', async () => {
    const { panel, title } = await openPanel(detail(4))
    await title.setValue('Fix the login form')
    await panel.find('#task-priority').setValue('HIGH')
    await remoteChange(detail(5, { title: 'Fix login on Safari', labels: ['bug', 'safari'] }))
    // The labels are chips (components/label/LabelInput.vue), each with its remove button.
    const chips = () => panel.findAll('button[aria-label^="Remove label "]').map(b => b.attributes('aria-label')!.slice('Remove label '.length))
    await vi.waitFor(() => expect(chips()).toEqual(['bug', 'safari']), WAIT)
    expect(input(panel, '#task-title')).toBe('Fix the login form')
    expect(panel.text()).toContain('they also changed a field you are editing')

    replies['task.update'] = () => ok(detail(6, { title: 'Fix the login form', priority: 'HIGH', labels: ['bug', 'safari'] }))
    await save(panel)
    await vi.waitFor(() => expect(updates()).toHaveLength(1), WAIT)
    expect(updates()[0]).toEqual({ id: 't1', baseVersion: 4, patch: { title: 'Fix the login form', priority: 'HIGH' } })
  })
})
