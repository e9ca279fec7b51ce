import { describe, expect, it } from 'vitest'
import { mayNotify } from '../../server/notifications/notifier'
import { extractMentions, insertMention, mentionQueryAt, notificationLink, notificationText, type NotificationItem } from '../../shared/schemas/notification'

describe('extractMentions', () => {
  it('finds distinct lowercase usernames that start a word', () => {
    expect(extractMentions('Hi @Ben and @cleo_x, (@dana-1) @ben again')).toEqual(['ben', 'cleo_x', 'dana-1'])
  })
  it('ignores email addresses, too-short names and empty text', () => {
    expect(extractMentions('mail ana@example.com or @ab, @')).toEqual([])
    expect(extractMentions(null)).toEqual([])
  })
})

describe('notificationText', () => {
  const base = { latestActor: { id: 'a', username: 'ana', name: 'Ana' }, actorCount: 1, count: 1, data: { taskTitle: 'Fix login' } }
  it('names the latest actor and how many others', () => {
    expect(notificationText({ ...base, type: 'commented', actorCount: 3, count: 5 })).toBe('Ana and 2 others commented on \'Fix login\'')
    expect(notificationText({ ...base, type: 'commented', actorCount: 2, count: 2 })).toBe('Ana and 1 other commented on \'Fix login\'')
    expect(notificationText({ ...base, type: 'commented', count: 3 })).toBe('Ana commented on \'Fix login\' (3×)')
  })
  it('describes each type', () => {
    expect(notificationText({ ...base, type: 'status_changed', data: { ...base.data, from: 'TODO', to: 'IN_REVIEW' } })).toBe('Ana moved \'Fix login\' to In review')
    expect(notificationText({ ...base, type: 'due_date_changed', data: { ...base.data, to: '2026-12-24T00:00:00.000Z' } })).toBe('Ana changed the due date of \'Fix login\' to 2026-12-24')
    expect(notificationText({ ...base, type: 'member_added', data: { projectName: 'Web', memberIsYou: true } })).toBe('Ana added you to Web')
    expect(notificationText({ ...base, type: 'summary', count: 4, data: { folded: 4 } })).toBe('4 more notifications arrived in a burst')
  })
})

describe('notificationLink', () => {
  const n = (over: Partial<NotificationItem>) => ({ type: 'assigned' as const, projectId: 'p1', taskId: 't1', data: {}, ...over })
  it('leads to the task in its project, to the project, or nowhere for a removal of you', () => {
    expect(notificationLink(n({}))).toBe('/projects/p1?task=t1')
    expect(notificationLink(n({ type: 'member_added', taskId: null }))).toBe('/projects/p1')
    expect(notificationLink(n({ type: 'member_removed', taskId: null, data: { memberIsYou: true } }))).toBeNull()
  })
})

describe('mayNotify', () => {
  const event = (type: string, data: unknown) => ({ id: 'e', projectId: 'p', seq: 1, type, actorId: 'a', entityType: 'task' as const, entityId: 't', data: data as never, createdAt: new Date() })
  it('skips what cannot concern anyone without touching the database', () => {
    expect(mayNotify(event('task.moved', { version: 2, changes: { position: { from: 'a0', to: 'a1' } } }))).toBe(false)
    expect(mayNotify(event('task.updated', { version: 2, changes: { title: { from: 'a', to: 'b' } } }))).toBe(false)
    expect(mayNotify(event('task.updated', { version: 2, changes: { description: { from: '', to: 'no mention' } } }))).toBe(false)
    expect(mayNotify(event('task.created', { task: { assigneeId: null, description: '' } }))).toBe(false)
    expect(mayNotify(event('project.updated', { changes: {} }))).toBe(false)
  })
  it('keeps what may', () => {
    expect(mayNotify(event('task.moved', { version: 2, changes: { status: { from: 'TODO', to: 'DONE' } } }))).toBe(true)
    expect(mayNotify(event('task.updated', { version: 2, changes: { description: { from: '', to: 'hi @ben' } } }))).toBe(true)
    expect(mayNotify(event('task.created', { task: { assigneeId: 'u1', description: '' } }))).toBe(true)
    expect(mayNotify(event('comment.created', { taskId: 't', body: 'x' }))).toBe(true)
  })
})

describe('mention autocomplete helpers', () => {
  it('finds the @partial before the caret, not inside an email address', () => {
    expect(mentionQueryAt('hi @Be', 6)).toEqual({ start: 3, query: 'be' })
    expect(mentionQueryAt('@', 1)).toEqual({ start: 0, query: '' })
    expect(mentionQueryAt('mail ana@ex', 11)).toBeNull()
    expect(mentionQueryAt('hi @ben done', 12)).toBeNull()
  })
  it('replaces it with the username and a space, caret after it', () => {
    expect(insertMention('hi @be and', 3, 6, 'ben')).toEqual({ text: 'hi @ben and', caret: 8 })
    expect(insertMention('@', 0, 1, 'cleo')).toEqual({ text: '@cleo ', caret: 6 })
  })
})
