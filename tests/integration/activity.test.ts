// activity.list: the project's event log as a feed, newest first, cursor-paginated, per task.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import type { ActivityItem } from '../../shared/schemas/activity'
import { failure, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

type User = Awaited<ReturnType<typeof signUp>>

describe.runIf(databaseAvailable)('activity.list', () => {
  let db: Database
  let owner: User
  let member: User
  let viewer: User
  let outsider: User

  beforeAll(async () => {
    db = await createTestDatabase()
    ;[owner, member, viewer, outsider] = [await signUp(db), await signUp(db), await signUp(db), await signUp(db)]
  })
  afterAll(() => db?.close())

  const actorOf = (u: User) => ({ id: u.user.id, username: u.user.username, name: u.user.name })

  /** A project with some history: members, two tasks, an update, a move, a comment, a rename. */
  async function busyProject() {
    const project = await owner.caller.project.create({ name: 'Feed', key: 'FEED' })
    await owner.caller.member.add({ projectId: project.id, username: member.user.username, role: 'MEMBER' })
    await owner.caller.member.add({ projectId: project.id, username: viewer.user.username, role: 'VIEWER' })
    const first = await owner.caller.task.create(taskInput(project.id, { title: 'First' }))
    const second = await member.caller.task.create(taskInput(project.id, { title: 'Second' }))
    await member.caller.task.update({ id: first.id, baseVersion: 1, patch: { priority: 'HIGH', title: 'First, renamed' } })
    await owner.caller.task.move({ id: first.id, status: 'DONE' })
    const comment = await member.caller.comment.create({ taskId: first.id, body: 'Looks good' })
    await member.caller.comment.create({ taskId: second.id, body: 'Not this one' })
    await owner.caller.project.update({ id: project.id, name: 'Feed, renamed' })
    return { project, first, second, comment }
  }

  it('lists every event newest first, with actor, target (key, title) and changes', async () => {
    const { project, first, second, comment } = await busyProject()
    const { items, nextCursor } = await viewer.caller.activity.list({ projectId: project.id })
    expect(nextCursor).toBeNull()
    expect(items.map(i => i.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    expect(items.map(i => i.type)).toEqual([
      'project.updated', 'comment.created', 'comment.created', 'task.moved', 'task.updated',
      'task.created', 'task.created', 'member.added', 'member.added', 'project.created',
    ])
    for (const item of items) expect(item.at).toBeInstanceOf(Date)
    const bySeq = (seq: number) => items.find(i => i.seq === seq)!
    expect(bySeq(10)).toEqual({
      seq: 10,
      at: expect.any(Date),
      type: 'project.updated',
      actor: actorOf(owner),
      target: { kind: 'project', id: project.id, taskId: null, title: 'Feed, renamed', key: 'FEED' },
      changes: [{ field: 'name', from: 'Feed', to: 'Feed, renamed' }],
    })
    expect(bySeq(8)).toMatchObject({
      actor: actorOf(member),
      target: { kind: 'comment', id: comment.id, taskId: first.id, title: 'First, renamed', key: 'FEED-1' },
      changes: [{ field: 'body', from: null, to: 'Looks good' }],
    })
    expect(bySeq(7)).toMatchObject({ target: { kind: 'task', id: first.id, taskId: first.id, key: 'FEED-1' } })
    expect(bySeq(7).changes).toContainEqual({ field: 'status', from: 'TODO', to: 'DONE' })
    expect(bySeq(6)).toMatchObject({
      type: 'task.updated',
      actor: actorOf(member),
      target: { kind: 'task', id: first.id, taskId: first.id, title: 'First, renamed', key: 'FEED-1' },
      changes: [{ field: 'title', from: 'First', to: 'First, renamed' }, { field: 'priority', from: 'NONE', to: 'HIGH' }],
    })
    expect(bySeq(5)).toMatchObject({ type: 'task.created', target: { id: second.id, title: 'Second', key: 'FEED-2' }, changes: [] })
    expect(bySeq(2)).toMatchObject({
      type: 'member.added',
      target: { kind: 'member', id: member.user.id, taskId: null, title: member.user.name, key: null },
      changes: [{ field: 'role', from: null, to: 'MEMBER' }],
    })
  })

  it('pages with the cursor: no entry twice, none left out, nextCursor null on the last page', async () => {
    const { project } = await busyProject()
    const seen: ActivityItem[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: { items: ActivityItem[], nextCursor: string | null } = await member.caller.activity.list({ projectId: project.id, cursor, limit: 3 })
      expect(page.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.items)
      cursor = page.nextCursor
      if (cursor) expect(cursor).toBe(String(page.items.at(-1)!.seq))
      pages++
    } while (cursor)
    expect(pages).toBe(4)
    expect(seen.map(i => i.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    // The default page is 50; more than 100 is refused.
    expect((await member.caller.activity.list({ projectId: project.id })).items).toHaveLength(10)
    expect((await failure(member.caller.activity.list({ projectId: project.id, limit: 101 }))).code).toBe('BAD_REQUEST')
    expect((await failure(member.caller.activity.list({ projectId: project.id, cursor: 'abc' }))).code).toBe('BAD_REQUEST')
  })

  it('with taskId: only that task\'s events and its comments\' events', async () => {
    const { project, first, second } = await busyProject()
    const { items } = await member.caller.activity.list({ projectId: project.id, taskId: first.id })
    expect(items.map(i => [i.seq, i.type])).toEqual([[8, 'comment.created'], [7, 'task.moved'], [6, 'task.updated'], [4, 'task.created']])
    expect(items.every(i => i.target.taskId === first.id)).toBe(true)
    const page = await member.caller.activity.list({ projectId: project.id, taskId: first.id, limit: 2, cursor: '8' })
    expect(page.items.map(i => i.seq)).toEqual([7, 6])
    expect(page.nextCursor).toBe('6')
    expect((await member.caller.activity.list({ projectId: project.id, taskId: second.id })).items.map(i => i.seq)).toEqual([9, 5])
  })

  it('a deleted task keeps its history and title', async () => {
    const { project, second } = await busyProject()
    await owner.caller.task.delete({ id: second.id })
    const { items } = await member.caller.activity.list({ projectId: project.id, taskId: second.id })
    expect(items[0]).toMatchObject({ type: 'task.deleted', target: { kind: 'task', id: second.id, title: 'Second', key: 'FEED-2' } })
  })

  it('is for members only: others get NOT_FOUND, as does a task of another project', async () => {
    const { project, first } = await busyProject()
    expect((await failure(outsider.caller.activity.list({ projectId: project.id }))).code).toBe('NOT_FOUND')
    expect((await failure(outsider.caller.activity.list({ projectId: project.id, taskId: first.id }))).code).toBe('NOT_FOUND')
    const other = await outsider.caller.project.create({ name: 'Other' })
    const theirs = await outsider.caller.task.create(taskInput(other.id))
    expect((await failure(member.caller.activity.list({ projectId: project.id, taskId: theirs.id }))).code).toBe('NOT_FOUND')
    // A member who left no longer reads it.
    await member.caller.member.leave({ projectId: project.id })
    expect((await failure(member.caller.activity.list({ projectId: project.id }))).code).toBe('NOT_FOUND')
  })
})
