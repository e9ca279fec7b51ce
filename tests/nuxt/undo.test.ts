import { mountSuspended } from '@nuxt/test-utils/runtime'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { defineComponent, h } from 'vue'
import { isTypingTarget, keyLabel, keyOf, useShortcuts } from '~/composables/useShortcuts'
import { useToast } from '~/composables/useToast'
import { useUndo } from '~/composables/useUndo'
import { useBoardStore } from '~/stores/board'
import { UNDO_LIMIT, useUndoStore, type UndoEntry } from '~/stores/undo'
import { fuzzyRank, fuzzyScore } from '~/utils/fuzzy'
import { signUp, taskInput } from '../factories'
import { serveRealRouter, type RealServer } from '../factories/realRouter'

// Undo and redo write through the app's real router (tests/factories/realRouter.ts).
let server: RealServer
let projectId: string
beforeAll(async () => {
  server = await serveRealRouter()
  projectId = (await server.me.caller.project.create({ name: 'Undo' })).id
})
afterAll(() => server.close())

const caller = () => server.me.caller
const stored = (id: string) => server.db.prisma.task.findUniqueOrThrow({ where: { id } })

describe('undo store and useUndo', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    useToast().toasts.value = []
  })

  const edit = (version: number, before: Record<string, unknown>, after: Record<string, unknown>): UndoEntry =>
    ({ kind: 'update', projectId: 'p1', taskId: 't', label: 'KEY-1', version, before, after })

  it('records changes, forgets redo on a new change, keeps at most UNDO_LIMIT', () => {
    const store = useUndoStore()
    store.record(edit(2, { title: 'a' }, { title: 'b' }))
    store.pushRedo(edit(9, {}, {}))
    store.record(edit(3, { title: 'b' }, { title: 'c' }))
    expect(store.redoStack).toEqual([])
    for (let i = 0; i < UNDO_LIMIT + 5; i++) store.record(edit(10 + i, {}, {}))
    expect(store.undoStack).toHaveLength(UNDO_LIMIT)
    // While an undo is written, its own write is not a new change.
    store.busy = true
    store.record(edit(999, {}, {}))
    expect(store.undoStack.at(-1)).not.toMatchObject({ version: 999 })
  })

  it('bases a write on the user\'s own latest version, stopping at anyone else\'s', () => {
    const store = useUndoStore()
    store.record(edit(2, { title: 'a' }, { title: 'b' }))
    store.record(edit(3, { title: 'b' }, { title: 'c' }))
    expect(store.baseVersion({ taskId: 't', version: 2 })).toBe(3)
    // Version 4 was someone else's; 5 ours again: the chain stops at 3.
    store.noteVersion('t', 5)
    expect(store.baseVersion({ taskId: 't', version: 2 })).toBe(3)
    expect(store.baseVersion({ taskId: 'other', version: 7 })).toBe(7)
  })

  it('undoes two edits in a row as new task.update writes, then redoes one', async () => {
    const created = await caller().task.create(taskInput(projectId, { title: 'a' }))
    await caller().task.update({ id: created.id, baseVersion: 1, patch: { title: 'b' } })
    const now = await caller().task.update({ id: created.id, baseVersion: 2, patch: { title: 'c' } })
    const board = useBoardStore()
    board.setTasks(projectId, [now])
    const store = useUndoStore()
    const titleEdit = (version: number, before: string, after: string): UndoEntry =>
      ({ kind: 'update', projectId, taskId: created.id, label: 'KEY-1', version, before: { title: before }, after: { title: after } })
    store.record(titleEdit(2, 'a', 'b'))
    store.record(titleEdit(3, 'b', 'c'))

    const { undo, redo } = useUndo()
    expect(await undo()).toBe(true)
    // The second undo is based on the first one's version (4), not its own old one (2): no self-conflict.
    expect(await undo()).toBe(true)
    expect(await stored(created.id)).toMatchObject({ title: 'a', version: 5 })
    expect(board.byId[created.id]).toMatchObject({ title: 'a', version: 5 })
    expect(await redo()).toBe(true)
    expect(await stored(created.id)).toMatchObject({ title: 'b', version: 6 })
    expect(board.byId[created.id]).toMatchObject({ title: 'b', version: 6 })
    expect(store.undoStack).toHaveLength(1)
    expect(useToast().toasts.value.map(t => t.message)).toContain('Redone: edit of KEY-1')
  })

  it('a CONFLICT (someone else changed the field since) is said, drops the entry and overwrites nothing', async () => {
    const teammate = await signUp(server.db)
    await caller().member.add({ projectId, username: teammate.user.username, role: 'MEMBER' })
    const created = await caller().task.create(taskInput(projectId))
    await caller().task.update({ id: created.id, baseVersion: 1, patch: { priority: 'URGENT' } })
    const now = await teammate.caller.task.update({ id: created.id, baseVersion: 2, patch: { priority: 'LOW' } })
    const board = useBoardStore()
    board.setTasks(projectId, [now])
    const store = useUndoStore()
    store.record({ kind: 'update', projectId, taskId: created.id, label: 'KEY-2', version: 2, before: { priority: 'NONE' }, after: { priority: 'URGENT' } })
    expect(await useUndo().undo()).toBe(false)
    expect(await stored(created.id)).toMatchObject({ priority: 'LOW', version: 3 })
    expect(board.byId[created.id]).toMatchObject({ priority: 'LOW' })
    expect(store.undoStack).toEqual([])
    expect(store.redoStack).toEqual([])
    expect(useToast().toasts.value.map(t => t.message).join()).toMatch(/someone else changed it since\. Nothing was overwritten/)
  })

  it('undoes a move back between its old neighbours, unless someone moved the card since', async () => {
    const { id: column } = await caller().project.create({ name: 'Moves' })
    const a = await caller().task.create(taskInput(column, { title: 'a' }))
    const m = await caller().task.create(taskInput(column, { title: 'm' }))
    const c = await caller().task.create(taskInput(column, { title: 'c' }))
    const moved = await caller().task.move({ id: m.id, status: 'DONE' })
    const board = useBoardStore()
    board.setTasks(column, [a, c, moved])
    const store = useUndoStore()
    store.record({ kind: 'move', projectId: column, taskId: m.id, label: 'm', version: moved.version, before: { status: 'TODO', position: m.position }, after: { status: 'DONE', position: moved.position } })
    expect(await useUndo().undo()).toBe(true)
    expect(board.columns.TODO.map(t => t.title)).toEqual(['a', 'm', 'c'])
    const back = await caller().task.list({ projectId: column, status: ['TODO'] })
    expect(back.toSorted((x, y) => (x.position < y.position ? -1 : 1)).map(t => t.title)).toEqual(['a', 'm', 'c'])

    // Redo, but someone else moved the card meanwhile: refused before any write.
    board.patch(m.id, { status: 'IN_REVIEW', position: 'b0', version: 9 })
    const before = server.requests.length
    expect(await useUndo().redo()).toBe(false)
    expect(server.requests.length).toBe(before)
    expect((await stored(m.id)).status).toBe('TODO')
    expect(useToast().toasts.value.map(t => t.message).join()).toContain('someone else moved it since')
  })

  it('undoes a delete with task.restore and redoes it with task.delete', async () => {
    const d = await caller().task.create(taskInput(projectId))
    await caller().task.delete({ id: d.id })
    const board = useBoardStore()
    board.setTasks(projectId, [])
    useUndoStore().record({ kind: 'delete', projectId, taskId: d.id, label: 'KEY-4' })
    expect(await useUndo().undo()).toBe(true)
    expect(board.byId[d.id]).toMatchObject({ title: d.title })
    expect((await stored(d.id)).deletedAt).toBeNull()
    expect(await useUndo().redo()).toBe(true)
    expect(board.byId[d.id]).toBeUndefined()
    expect((await stored(d.id)).deletedAt).toBeInstanceOf(Date)
    expect(await useUndo().redo()).toBe(false)
    expect(useToast().toasts.value.map(t => t.message)).toContain('Nothing to redo')
  })
})

describe('useShortcuts', () => {
  it('names keys as shortcuts write them', () => {
    const key = (init: KeyboardEventInit) => keyOf(new KeyboardEvent('keydown', init))
    expect(key({ key: 'c' })).toBe('c')
    expect(key({ key: 'Z', ctrlKey: true, shiftKey: true })).toBe('shift+mod+z')
    expect(key({ key: 'k', metaKey: true })).toBe('mod+k')
    expect(key({ key: '?', shiftKey: true })).toBe('?')
    expect(key({ key: 'Shift', shiftKey: true })).toBeNull()
    expect(key({ key: 'x', altKey: true })).toBeNull()
    expect(keyLabel('shift+mod+z', false)).toEqual(['Shift+Ctrl+Z'])
    expect(keyLabel('mod+k', true)).toEqual(['⌘K'])
    expect(keyLabel('g b', false)).toEqual(['g', 'b'])
  })

  it('fires single keys and sequences, never while typing in an input, textarea or contenteditable', async () => {
    const fired: string[] = []
    const Host = defineComponent({
      setup() {
        useShortcuts([
          { keys: 'c', description: 'create', group: 'test', run: () => fired.push('c') },
          { keys: 'g b', description: 'board', group: 'test', run: () => fired.push('g b') },
          { keys: 'mod+k', description: 'palette', group: 'test', global: true, run: () => fired.push('mod+k') },
        ])
        return () => h('div', [h('input', { id: 'field' }), h('textarea', { id: 'area' }), h('div', { id: 'rich', contenteditable: 'true' })])
      },
    })
    const wrapper = await mountSuspended(Host, { attachTo: document.body })
    const press = (target: EventTarget, key: string, init: KeyboardEventInit = {}) => target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init }))
    press(document.body, 'c')
    press(document.body, 'g')
    press(document.body, 'b')
    for (const id of ['field', 'area', 'rich']) {
      const el = document.getElementById(id)!
      expect(isTypingTarget(el)).toBe(true)
      press(el, 'c')
      press(el, 'k', { ctrlKey: true })
    }
    expect(fired).toEqual(['c', 'g b', 'mod+k', 'mod+k', 'mod+k'])
    wrapper.unmount()
    press(document.body, 'c')
    expect(fired).toHaveLength(5)
  })
})

describe('fuzzy matching', () => {
  it('matches subsequences, best (prefix, word start, consecutive) first, recent ones ahead of equals', () => {
    expect(fuzzyScore('flr', 'Fix login redirect')).not.toBeNull()
    expect(fuzzyScore('xyz', 'Fix login redirect')).toBeNull()
    const items = ['careful planning', 'Fix login', 'Files']
    expect(fuzzyRank(items, 'fil', i => i)).toEqual(['Files', 'Fix login'])
    expect(fuzzyRank(items, 'cpl', i => i)).toEqual(['careful planning'])
    expect(fuzzyRank(['Alpha', 'Alps'], 'alp', i => i, i => (i === 'Alpha' ? 0 : -1))).toEqual(['Alpha', 'Alps'])
    expect(fuzzyRank(items, 'zz', i => i)).toEqual([])
  })
})
