import { mountSuspended, registerEndpoint } from '@nuxt/test-utils/runtime'
import { readBody } from 'h3'
import { createPinia, setActivePinia } from 'pinia'
import superjson from 'superjson'
import { beforeEach, describe, expect, it } from 'vitest'
import { defineComponent, h } from 'vue'
import { isTypingTarget, keyLabel, keyOf, useShortcuts } from '~/composables/useShortcuts'
import { useToast } from '~/composables/useToast'
import { useUndo } from '~/composables/useUndo'
import { useBoardStore } from '~/stores/board'
import { UNDO_LIMIT, useUndoStore, type UndoEntry } from '~/stores/undo'
import type { Task } from '~/utils/api'
import { fuzzyRank, fuzzyScore } from '~/utils/fuzzy'

function task(id: string, fields: Partial<Task> = {}): Task {
  return {
    id, projectId: 'p1', number: 1, title: `Task ${id}`, status: 'TODO', priority: 'NONE', assigneeId: null, assignee: null,
    dueDate: null, labels: [], position: 'a0', version: 1, updatedAt: new Date('2026-01-01T00:00:00Z'), ...fields,
  } as Task
}

/** The calls each procedure got, and what it answers next (one tRPC batch item). */
let calls: Record<string, unknown[]> = {}
const replies: Record<string, (input: Record<string, unknown>) => unknown> = {}
for (const path of ['task.update', 'task.move', 'task.restore', 'task.delete']) {
  registerEndpoint(`/api/trpc/${path}`, {
    method: 'POST',
    handler: async (event) => {
      const body = await readBody<Record<string, { json: Record<string, unknown> }>>(event)
      const input = body['0']!.json
      ;(calls[path] ??= []).push(input)
      return [replies[path]!(input)]
    },
  })
}
const ok = (value: unknown) => ({ result: { data: superjson.serialize(value) } })
const conflict = () => ({ error: superjson.serialize({ message: 'Task t was changed by someone else since version 2 (now 3): priority', code: -32009, data: { code: 'CONFLICT', httpStatus: 409 } }) })

describe('undo store and useUndo', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    calls = {}
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
    const board = useBoardStore()
    board.setTasks('p1', [task('t', { title: 'c', version: 3 })])
    const store = useUndoStore()
    store.record(edit(2, { title: 'a' }, { title: 'b' }))
    store.record(edit(3, { title: 'b' }, { title: 'c' }))
    let version = 3
    replies['task.update'] = input => ok(task('t', { ...(input.patch as object), version: ++version }))

    const { undo, redo } = useUndo()
    expect(await undo()).toBe(true)
    expect(await undo()).toBe(true)
    // The second undo is based on the first one's version (4), not its own old one (2): no self-conflict.
    expect(calls['task.update']).toEqual([
      { id: 't', baseVersion: 3, patch: { title: 'b' } },
      { id: 't', baseVersion: 4, patch: { title: 'a' } },
    ])
    expect(board.byId.t).toMatchObject({ title: 'a', version: 5 })
    expect(await redo()).toBe(true)
    expect(calls['task.update']!.at(-1)).toEqual({ id: 't', baseVersion: 5, patch: { title: 'b' } })
    expect(board.byId.t).toMatchObject({ title: 'b', version: 6 })
    expect(store.undoStack).toHaveLength(1)
    expect(useToast().toasts.value.map(t => t.message)).toContain('Redone: edit of KEY-1')
  })

  it('a CONFLICT (someone else changed the field since) is said, drops the entry and overwrites nothing', async () => {
    const board = useBoardStore()
    board.setTasks('p1', [task('t', { priority: 'LOW', version: 3 })])
    const store = useUndoStore()
    store.record(edit(2, { priority: 'NONE' }, { priority: 'URGENT' }))
    replies['task.update'] = conflict
    expect(await useUndo().undo()).toBe(false)
    expect(board.byId.t).toMatchObject({ priority: 'LOW' })
    expect(store.undoStack).toEqual([])
    expect(store.redoStack).toEqual([])
    expect(useToast().toasts.value.map(t => t.message).join()).toMatch(/someone else changed it since\. Nothing was overwritten/)
  })

  it('undoes a move back between its old neighbours, unless someone moved the card since', async () => {
    const board = useBoardStore()
    board.setTasks('p1', [task('a', { position: 'a0' }), task('c', { position: 'a2' }), task('m', { position: 'a5', status: 'DONE', version: 2 })])
    const store = useUndoStore()
    const entry: UndoEntry = { kind: 'move', projectId: 'p1', taskId: 'm', label: 'm', version: 2, before: { status: 'TODO', position: 'a1' }, after: { status: 'DONE', position: 'a5' } }
    store.record(entry)
    replies['task.move'] = input => ok(task('m', { status: input.status as Task['status'], position: 'a1', version: 3 }))
    expect(await useUndo().undo()).toBe(true)
    expect(calls['task.move']).toEqual([{ id: 'm', status: 'TODO', afterId: 'a', beforeId: null }])
    expect(board.columns.TODO.map(t => t.id)).toEqual(['a', 'm', 'c'])

    // Redo, but someone else moved the card meanwhile: refused before any write.
    board.patch('m', { status: 'IN_REVIEW', position: 'b0', version: 4 })
    expect(await useUndo().redo()).toBe(false)
    expect(calls['task.move']).toHaveLength(1)
    expect(useToast().toasts.value.map(t => t.message).join()).toContain('someone else moved it since')
  })

  it('undoes a delete with task.restore and redoes it with task.delete', async () => {
    const board = useBoardStore()
    board.setTasks('p1', [])
    useUndoStore().record({ kind: 'delete', projectId: 'p1', taskId: 'd', label: 'KEY-4' })
    replies['task.restore'] = () => ok(task('d', { version: 3 }))
    replies['task.delete'] = () => ok({ id: 'd', projectId: 'p1' })
    expect(await useUndo().undo()).toBe(true)
    expect(board.byId.d).toMatchObject({ version: 3 })
    expect(await useUndo().redo()).toBe(true)
    expect(board.byId.d).toBeUndefined()
    expect(calls['task.restore']).toEqual([{ id: 'd' }])
    expect(calls['task.delete']).toEqual([{ id: 'd' }])
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
