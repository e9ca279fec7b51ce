import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendEvent, readEvents, transaction } from '../../server/services/events'
import type { Database } from '../../server/utils/db'
import { failure, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

type User = Awaited<ReturnType<typeof signUp>>

describe.runIf(databaseAvailable)('event log', () => {
  let db: Database
  let owner: User
  let member: User
  let viewer: User

  beforeAll(async () => {
    db = await createTestDatabase()
    ;[owner, member, viewer] = [await signUp(db), await signUp(db), await signUp(db)]
  })
  afterAll(() => db?.close())

  const events = (projectId: string) => db.prisma.projectEvent.findMany({ where: { projectId }, orderBy: { seq: 'asc' } })

  /** Runs a write and returns the events it appended; asserts the log stays gapless. */
  async function appended(projectId: string, write: () => Promise<unknown>) {
    const before = await events(projectId)
    await write()
    const after = await events(projectId)
    expect(after.map(e => e.seq)).toEqual(after.map((_, i) => i + 1))
    const { eventSeq } = await db.prisma.project.findUniqueOrThrow({ where: { id: projectId }, select: { eventSeq: true } })
    expect(eventSeq).toBe(after.length)
    return after.slice(before.length)
  }

  async function teamProject() {
    const project = await owner.caller.project.create({ name: 'Events' })
    await owner.caller.member.add({ projectId: project.id, username: member.user.username, role: 'MEMBER' })
    await owner.caller.member.add({ projectId: project.id, username: viewer.user.username, role: 'VIEWER' })
    return project
  }

  it('appendEvent returns the row as the log stores it (what the bus publishes), and moves the project\'s seq and updatedAt', async () => {
    const project = await owner.caller.project.create({ name: 'Returned' })
    const before = await db.prisma.project.findUniqueOrThrow({ where: { id: project.id } })
    const event = await transaction(db.prisma, tx => appendEvent(tx, {
      projectId: project.id,
      type: 'project.updated',
      actorId: owner.user.id,
      entityType: 'project',
      entityId: project.id,
      data: { changes: { name: { from: 'Returned', to: 'Returned "again" ✓' } } },
    }))
    const [stored] = await readEvents(db.prisma, project.id, before.eventSeq, null)
    expect(event).toEqual(stored)
    expect(event.createdAt).toBeInstanceOf(Date)
    expect(event).toMatchObject({ seq: before.eventSeq + 1, data: { changes: { name: { to: 'Returned "again" ✓' } } } })
    const after = await db.prisma.project.findUniqueOrThrow({ where: { id: project.id } })
    expect(after.eventSeq).toBe(before.eventSeq + 1)
    expect(after.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime())
    await expect(transaction(db.prisma, tx => appendEvent(tx, { ...event, projectId: 'no-such-project', type: 'project.updated', data: { changes: {} } }))).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('project and member writes append one event each, with from/to for changes', async () => {
    const created = await owner.caller.project.create({ name: 'Audit me' })
    const [first] = await events(created.id)
    expect(first).toMatchObject({ seq: 1, type: 'project.created', actorId: owner.user.id, entityType: 'project', entityId: created.id, data: { name: 'Audit me', key: 'AM' } })
    expect(created.eventSeq).toBe(1)
    const p = created.id

    expect(await appended(p, () => owner.caller.project.update({ id: p, name: 'Audited', description: '' }))).toEqual([
      expect.objectContaining({ seq: 2, type: 'project.updated', data: { changes: { name: { from: 'Audit me', to: 'Audited' } } } }),
    ])
    expect(await appended(p, () => owner.caller.project.update({ id: p, name: 'Audited' }))).toEqual([])

    expect(await appended(p, () => owner.caller.member.add({ projectId: p, username: member.user.username }))).toEqual([
      expect.objectContaining({ type: 'member.added', entityId: member.user.id, data: expect.objectContaining({ userId: member.user.id, role: 'MEMBER' }) }),
    ])
    expect(await appended(p, () => owner.caller.member.updateRole({ projectId: p, userId: member.user.id, role: 'ADMIN' }))).toEqual([
      expect.objectContaining({ type: 'member.roleChanged', data: { userId: member.user.id, changes: { role: { from: 'MEMBER', to: 'ADMIN' } } } }),
    ])
    expect(await appended(p, () => owner.caller.member.updateRole({ projectId: p, userId: member.user.id, role: 'ADMIN' }))).toEqual([])
    expect(await appended(p, () => member.caller.member.leave({ projectId: p }))).toEqual([
      expect.objectContaining({ type: 'member.left', actorId: member.user.id, entityId: member.user.id }),
    ])
  })

  it('task and comment writes append one event each', async () => {
    const project = await teamProject()
    const p = project.id
    let taskId = ''
    const [created] = await appended(p, async () => {
      taskId = (await member.caller.task.create(taskInput(p, { title: 'Logged' }))).id
    })
    expect(created).toMatchObject({ type: 'task.created', actorId: member.user.id, entityType: 'task', entityId: taskId, data: { task: expect.objectContaining({ id: taskId, title: 'Logged', version: 1 }) } })

    expect(await appended(p, () => owner.caller.task.update({ id: taskId, baseVersion: 1, patch: { title: 'Logged!', priority: 'LOW', labels: ['a'] } }))).toEqual([
      expect.objectContaining({
        type: 'task.updated',
        entityId: taskId,
        data: { version: 2, changes: { title: { from: 'Logged', to: 'Logged!' }, priority: { from: 'NONE', to: 'LOW' }, labels: { from: [], to: ['a'] } } },
      }),
    ])
    expect(await appended(p, () => owner.caller.task.update({ id: taskId, baseVersion: 2, patch: { title: 'Logged!' } }))).toEqual([])

    const [moved] = await appended(p, () => owner.caller.task.move({ id: taskId, status: 'DONE' }))
    expect(moved).toMatchObject({ type: 'task.moved', data: { version: 3, changes: { status: { from: 'TODO', to: 'DONE' }, position: { from: expect.any(String), to: expect.any(String) } } } })
    // A status change through task.update carries the position the server chose, so clients need not refetch.
    await owner.caller.task.create(taskInput(p, { title: 'Already in review', status: 'IN_REVIEW' }))
    const [statusChanged] = await appended(p, () => owner.caller.task.update({ id: taskId, baseVersion: 3, patch: { status: 'IN_REVIEW' } }))
    const placed = await owner.caller.task.byId({ id: taskId })
    expect(statusChanged).toMatchObject({ type: 'task.updated', data: { version: 4, changes: { status: { from: 'DONE', to: 'IN_REVIEW' }, position: { to: placed.position } } } })

    expect(await appended(p, () => member.caller.comment.create({ taskId, body: 'Noted' }))).toEqual([
      expect.objectContaining({ type: 'comment.created', entityType: 'comment', data: { taskId, body: 'Noted' } }),
    ])
    expect(await appended(p, () => owner.caller.task.delete({ id: taskId }))).toEqual([
      expect.objectContaining({ type: 'task.deleted', entityId: taskId, data: { version: 5, title: 'Logged!' } }),
    ])
  })

  it('removing a member logs one unassignment per task they held, then the removal', async () => {
    const project = await teamProject()
    const p = project.id
    const held = [await owner.caller.task.create(taskInput(p, { assigneeId: member.user.id })), await owner.caller.task.create(taskInput(p, { assigneeId: member.user.id }))]
    await owner.caller.task.create(taskInput(p, { assigneeId: owner.user.id }))
    const added = await appended(p, () => owner.caller.member.remove({ projectId: p, userId: member.user.id }))
    expect(added.map(e => e.type)).toEqual(['task.updated', 'task.updated', 'member.removed'])
    expect(added.slice(0, 2).map(e => e.entityId).sort()).toEqual(held.map(t => t.id).sort())
    // Like every task event, each carries the task's new version so a live client can apply it in order.
    for (const e of added.slice(0, 2)) expect(e.data).toEqual({ version: 2, changes: { assigneeId: { from: member.user.id, to: null } } })
  })

  it('rejected writes append nothing', async () => {
    const project = await teamProject()
    const task = await owner.caller.task.create(taskInput(project.id))
    await owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'v2' } })
    const none = await appended(project.id, async () => {
      await failure(viewer.caller.task.create(taskInput(project.id)))
      await failure(member.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'stale' } }))
      await failure(member.caller.task.create(taskInput(project.id, { assigneeId: 'not-a-member' })))
      await failure(member.caller.task.move({ id: task.id, status: 'DONE', afterId: 'nope' }))
      await failure(member.caller.project.update({ id: project.id, name: 'x' }))
      await failure(owner.caller.member.leave({ projectId: project.id }))
    })
    expect(none).toEqual([])
  })

  it('concurrent writes in one project get consecutive seqs with no gaps or duplicates', async () => {
    const project = await teamProject()
    const p = project.id
    const [mover, ...seed] = await Promise.all([0, 1, 2, 3, 4].map(i => owner.caller.task.create(taskInput(p, { title: `seed ${i}` }))))
    const writes = await appended(p, () => Promise.all([
      ...Array.from({ length: 6 }, (_, i) => (i % 2 ? owner : member).caller.task.create(taskInput(p, { title: `burst ${i}` }))),
      ...seed.map((t, i) => member.caller.task.update({ id: t.id, baseVersion: 1, patch: { priority: 'HIGH', title: `seed ${i}!` } })),
      owner.caller.task.move({ id: mover!.id, status: 'IN_REVIEW' }),
      member.caller.comment.create({ taskId: seed[1]!.id, body: 'busy' }),
    ]))
    expect(writes).toHaveLength(12)
    expect(writes.filter(e => e.type === 'task.created')).toHaveLength(6)
    expect(writes.filter(e => e.type === 'task.updated')).toHaveLength(4)
    // Task numbers are unique and gapless too.
    const numbers = (await owner.caller.task.list({ projectId: p })).map(t => t.number).sort((a, b) => a - b)
    expect(numbers).toEqual(Array.from({ length: 11 }, (_, i) => i + 1))
  })
})
