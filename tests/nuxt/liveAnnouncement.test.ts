import { describe, expect, it } from 'vitest'
import type { ProjectEvent, ProjectEventDataMap, ProjectEventType } from '~~/shared/events'
import { createAnnouncer, liveAnnouncementText, type AnnouncementContext } from '~/utils/liveAnnouncement'
import { manualClock } from './manualClock'

const createdAt = new Date('2026-02-01T00:00:00Z')
let seq = 0
function event<T extends ProjectEventType>(type: T, entityId: string, data: ProjectEventDataMap[T], actorId: string | null = 'ana'): ProjectEvent {
  seq += 1
  return { id: `e${seq}`, projectId: 'p1', seq, type, actorId, entityType: type.startsWith('comment') ? 'comment' : 'task', entityId, data, createdAt }
}

const ctx: AnnouncementContext = {
  selfId: 'me',
  memberName: id => ({ ana: 'Ana', me: 'Me' } as Record<string, string>)[id],
  taskRef: id => ({ t4: 'TT-4' } as Record<string, string>)[id],
  projectKey: 'TT',
  now: new Date(createdAt.getTime() + 3_000),
}

describe('liveAnnouncementText', () => {
  it('says who did what to which task', () => {
    expect(liveAnnouncementText(event('task.moved', 't4', { version: 2, changes: { status: { from: 'TODO', to: 'DONE' }, position: { from: 'a0', to: 'a1' } } }), ctx))
      .toBe('Ana moved TT-4 to Done')
    expect(liveAnnouncementText(event('task.updated', 't4', { version: 3, changes: { priority: { from: 'LOW', to: 'HIGH' }, assigneeId: { from: null, to: 'me' } } }), ctx))
      .toBe('Ana changed the priority and assignee of TT-4')
    expect(liveAnnouncementText(event('task.updated', 't4', { version: 3, changes: { status: { from: 'TODO', to: 'IN_REVIEW' }, title: { from: 'a', to: 'b' } } }), ctx))
      .toBe('Ana moved TT-4 to In review and changed its title')
    expect(liveAnnouncementText(event('comment.created', 'c1', { taskId: 't4', body: 'hi' }), ctx)).toBe('Ana commented on TT-4')
    expect(liveAnnouncementText(event('task.created', 't7', { task: { number: 7, title: 'Write docs' } }), ctx)).toBe('Ana added TT-7: Write docs')
    expect(liveAnnouncementText(event('task.deleted', 't4', { version: 4, title: 'Fix login' }), ctx)).toBe('Ana deleted TT-4: Fix login')
    // Unknown people and tasks off the board still make a sentence.
    expect(liveAnnouncementText(event('task.moved', 'gone', { version: 2, changes: { status: { from: 'TODO', to: 'DONE' } } }, 'stranger'), ctx))
      .toBe('Someone moved a task to Done')
  })

  it('stays quiet for the user\'s own changes, reorders, member events and a catch-up of old events', () => {
    expect(liveAnnouncementText(event('task.moved', 't4', { version: 2, changes: { status: { from: 'TODO', to: 'DONE' } } }, 'me'), ctx)).toBeNull()
    expect(liveAnnouncementText(event('task.moved', 't4', { version: 2, changes: { position: { from: 'a0', to: 'a1' } } }), ctx)).toBeNull()
    expect(liveAnnouncementText(event('member.left', 'u', { userId: 'u', role: 'MEMBER' }), ctx)).toBeNull()
    expect(liveAnnouncementText(event('task.moved', 't4', { version: 2, changes: { status: { from: 'TODO', to: 'DONE' } } }), { ...ctx, now: new Date(createdAt.getTime() + 10 * 60_000) }))
      .toBeNull()
  })
})

describe('createAnnouncer', () => {
  it('says the first change at once, then at most one sentence per interval, a burst summed up', () => {
    const clock = manualClock()
    const said: string[] = []
    const announcer = createAnnouncer(text => said.push(text), clock, { intervalMs: 2_000, maxItems: 2 })

    announcer.say('Ana moved TT-4 to Done')
    expect(said).toEqual(['Ana moved TT-4 to Done.'])

    // A burst right after: held back until the interval is over, then one sentence.
    for (let i = 5; i < 10; i++) announcer.say(`Ana moved TT-${i} to Done`)
    clock.advance(1_999)
    expect(said).toHaveLength(1)
    clock.advance(1)
    expect(said[1]).toBe('Ana moved TT-5 to Done. Ana moved TT-6 to Done. And 3 more changes.')

    // One more within the next interval waits for it; after a quiet spell, at once again.
    announcer.say('Ana commented on TT-4')
    expect(said).toHaveLength(2)
    clock.advance(2_000)
    expect(said[2]).toBe('Ana commented on TT-4.')
    clock.advance(10_000)
    announcer.say('Ana added TT-11: Docs')
    expect(said[3]).toBe('Ana added TT-11: Docs.')
  })

  it('dispose drops what is waiting', () => {
    const clock = manualClock()
    const said: string[] = []
    const announcer = createAnnouncer(text => said.push(text), clock)
    announcer.say('one')
    announcer.say('two')
    announcer.dispose()
    clock.advance(60_000)
    expect(said).toEqual(['one.'])
  })
})
