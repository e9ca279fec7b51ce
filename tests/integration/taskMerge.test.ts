// task.update on a stale baseVersion: per-field merge over the event log, three-way description
// merge, conflicts with base / theirs / mine, and the lastWriteWins project setting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import type { TaskUpdateInput } from '../../shared/schemas/task'
import { failure, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

type User = Awaited<ReturnType<typeof signUp>>

describe.runIf(databaseAvailable)('task.update merges stale writes', () => {
  let db: Database
  let owner: User
  let ana: User
  let ben: User
  let viewer: User

  beforeAll(async () => {
    db = await createTestDatabase()
    ;[owner, ana, ben, viewer] = [await signUp(db), await signUp(db), await signUp(db), await signUp(db)]
  })
  afterAll(() => db?.close())

  async function teamProject() {
    const project = await owner.caller.project.create({ name: 'Merge' })
    for (const [user, role] of [[ana, 'MEMBER'], [ben, 'MEMBER'], [viewer, 'VIEWER']] as const) {
      await owner.caller.member.add({ projectId: project.id, username: user.user.username, role })
    }
    return project
  }

  const eventsOf = (taskId: string) => db.prisma.projectEvent.findMany({ where: { entityId: taskId }, orderBy: { seq: 'asc' } })
  const seqOf = async (projectId: string) => (await db.prisma.project.findUniqueOrThrow({ where: { id: projectId } })).eventSeq
  const actorOf = (u: User) => ({ id: u.user.id, username: u.user.username, name: u.user.name })

  it('applies a stale write whose fields nobody else changed, as one new version with one event', async () => {
    const project = await teamProject()
    await owner.caller.task.create(taskInput(project.id, { title: 'Already in progress', status: 'IN_PROGRESS' }))
    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Original', priority: 'LOW' }))
    await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Ana\'s title' } })
    await ana.caller.task.update({ id: task.id, baseVersion: 2, patch: { labels: ['bug'] } })

    const merged = await ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { priority: 'URGENT', status: 'IN_PROGRESS' } })
    expect(merged).toMatchObject({ title: 'Ana\'s title', labels: ['bug'], priority: 'URGENT', status: 'IN_PROGRESS', version: 4 })
    expect(await viewer.caller.task.byId({ id: task.id })).toEqual(merged)
    const last = (await eventsOf(task.id)).at(-1)!
    expect(last).toMatchObject({ type: 'task.updated', actorId: ben.user.id })
    // A status change also puts the card at the end of its new column, and logs that position.
    expect(merged.position > task.position).toBe(true)
    expect(last.data).toEqual({
      version: 4,
      changes: { priority: { from: 'LOW', to: 'URGENT' }, status: { from: 'TODO', to: 'IN_PROGRESS' }, position: { from: task.position, to: merged.position } },
    })
  })

  it('answers CONFLICT with the current task and base / theirs (who, when) / mine per field', async () => {
    const project = await teamProject()
    const due = new Date('2030-03-01T00:00:00.000Z')
    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Original', dueDate: due }))
    await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Ana 1', dueDate: new Date('2030-04-01T00:00:00.000Z') } })
    await ben.caller.task.update({ id: task.id, baseVersion: 2, patch: { title: 'Ben 2' } })
    const [, byAna, byBen] = await eventsOf(task.id)

    const f = await failure(owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Mine', dueDate: null, priority: 'HIGH' } }))
    expect(f.code).toBe('CONFLICT')
    expect(f.message).toContain(task.id)
    expect(f.data.details).toEqual({
      current: await owner.caller.task.byId({ id: task.id }),
      conflicts: [
        { field: 'title', base: 'Original', theirs: { value: 'Ben 2', actor: actorOf(ben), at: byBen!.createdAt }, mine: 'Mine' },
        { field: 'dueDate', base: due, theirs: { value: new Date('2030-04-01T00:00:00.000Z'), actor: actorOf(ana), at: byAna!.createdAt }, mine: null },
      ],
    })
    expect((f.data.details as { current: { version: number } }).current.version).toBe(3)
  })

  it('a conflict applies nothing and logs nothing, even the fields that would have merged', async () => {
    const project = await teamProject()
    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Original' }))
    const v2 = await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Ana' } })
    const seq = await seqOf(project.id)
    const f = await failure(ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Ben', priority: 'URGENT', labels: ['x'] } }))
    expect(f.code).toBe('CONFLICT')
    expect(await owner.caller.task.byId({ id: task.id })).toEqual(v2)
    expect(await seqOf(project.id)).toBe(seq)
  })

  it('setting a field to the value it already has is not a conflict, and not a change', async () => {
    const project = await teamProject()
    const task = await owner.caller.task.create(taskInput(project.id, { labels: ['a'] }))
    await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { priority: 'HIGH', labels: ['a', 'b'] } })
    const seq = await seqOf(project.id)
    const same = await ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { priority: 'HIGH', labels: ['a', 'b'] } })
    expect(same.version).toBe(2)
    expect(await seqOf(project.id)).toBe(seq)

    const withTitle = await ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { priority: 'HIGH', title: 'Renamed' } })
    expect(withTitle).toMatchObject({ priority: 'HIGH', title: 'Renamed', version: 3 })
    expect((await eventsOf(task.id)).at(-1)!.data).toEqual({ version: 3, changes: { title: { from: task.title, to: 'Renamed' } } })
  })

  it('merges a description both sides changed three-way; overlapping edits conflict', async () => {
    const project = await teamProject()
    const base = 'Steps: open the login page and type the mail.\n\nExpected: the form keeps it.'
    const task = await owner.caller.task.create(taskInput(project.id, { description: base }))
    const theirs = base.replace('the mail', 'the email address')
    await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { description: theirs } })

    const mine = `${base}\n\nSafari 17 only.`
    const merged = await ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { description: mine } })
    const expected = `${theirs}\n\nSafari 17 only.`
    expect(merged).toMatchObject({ description: expected, version: 3 })
    expect((await eventsOf(task.id)).at(-1)!.data).toEqual({ version: 3, changes: { description: { from: theirs, to: expected } } })

    const f = await failure(owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { description: base.replace('the mail', 'a username') } }))
    expect(f.code).toBe('CONFLICT')
    expect(f.data.details).toMatchObject({
      conflicts: [{ field: 'description', base, theirs: { value: expected, actor: actorOf(ben) }, mine: base.replace('the mail', 'a username') }],
    })
    expect((await owner.caller.task.byId({ id: task.id })).description).toBe(expected)
  })

  it('a move in between: a stale status edit conflicts with it, other fields merge', async () => {
    const project = await teamProject()
    const task = await owner.caller.task.create(taskInput(project.id))
    const moved = await ana.caller.task.move({ id: task.id, status: 'DONE' })
    const f = await failure(ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { status: 'IN_REVIEW' } }))
    expect(f.data.details).toMatchObject({ conflicts: [{ field: 'status', base: 'TODO', theirs: { value: 'DONE', actor: actorOf(ana) }, mine: 'IN_REVIEW' }] })
    const merged = await ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { priority: 'LOW' } })
    expect(merged).toMatchObject({ status: 'DONE', position: moved.position, priority: 'LOW', version: 3 })
  })

  it('a baseVersion newer than the task is BAD_REQUEST; viewers and outsiders are refused as before', async () => {
    const project = await teamProject()
    const task = await owner.caller.task.create(taskInput(project.id))
    const f = await failure(ana.caller.task.update({ id: task.id, baseVersion: 2, patch: { title: 'x' } }))
    expect(f.code).toBe('BAD_REQUEST')
    expect(f.fieldErrors).toHaveProperty('baseVersion')
    expect((await failure(viewer.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'x' } }))).code).toBe('FORBIDDEN')
    const outsider = await signUp(db)
    expect((await failure(outsider.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'x' } }))).code).toBe('NOT_FOUND')
  })

  it('parallel stale writes of different fields all land; of the same field exactly one does', async () => {
    const project = await teamProject()
    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Parallel' }))
    const writers = [owner, ana, ben]
    const patches: TaskUpdateInput['patch'][] = [{ priority: 'HIGH' }, { status: 'IN_REVIEW' }, { labels: ['p'] }, { dueDate: new Date('2032-01-01T00:00:00.000Z') }, { description: 'parallel' }]
    const results = await Promise.all(patches.map((patch, i) => writers[i % 3]!.caller.task.update({ id: task.id, baseVersion: 1, patch })))
    expect(results.map(r => r.version).sort()).toEqual([2, 3, 4, 5, 6])
    expect(await owner.caller.task.byId({ id: task.id })).toMatchObject({
      priority: 'HIGH', status: 'IN_REVIEW', labels: ['p'], dueDate: new Date('2032-01-01T00:00:00.000Z'), description: 'parallel', version: 6,
    })
    expect((await eventsOf(task.id)).slice(1).map(e => (e.data as { version: number }).version)).toEqual([2, 3, 4, 5, 6])

    const titles = await Promise.allSettled(writers.map((w, i) => w.caller.task.update({ id: task.id, baseVersion: 6, patch: { title: `title ${i}` } })))
    const won = titles.filter(r => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const lost of titles.filter(r => r.status === 'rejected')) {
      expect((await failure(Promise.reject((lost as PromiseRejectedResult).reason))).code).toBe('CONFLICT')
    }
    expect(await owner.caller.task.byId({ id: task.id })).toMatchObject({ title: (won[0] as PromiseFulfilledResult<{ title: string }>).value.title, version: 7 })
  })

  it('a version missing from the log makes every field of a stale patch a conflict, never a silent overwrite', async () => {
    const project = await teamProject()
    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Original' }))
    await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { priority: 'HIGH' } })
    // Tampering: the log loses the event of version 2.
    await db.prisma.projectEvent.deleteMany({ where: { entityId: task.id, type: 'task.updated' } })
    const f = await failure(ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Ben', priority: 'LOW' } }))
    expect(f.code).toBe('CONFLICT')
    expect((f.data.details as { conflicts: { field: string }[] }).conflicts.map(c => c.field)).toEqual(['title', 'priority'])
    // Fresh writes are unaffected.
    expect(await ben.caller.task.update({ id: task.id, baseVersion: 2, patch: { title: 'Ben' } })).toMatchObject({ title: 'Ben', version: 3 })
  })

  describe('conflictPolicy', () => {
    it('defaults to merge; owners and admins change it through project.update; it is logged', async () => {
      const project = await teamProject()
      expect(project.conflictPolicy).toBe('merge')
      expect((await ana.caller.project.byId({ id: project.id })).conflictPolicy).toBe('merge')
      expect((await failure(ana.caller.project.update({ id: project.id, conflictPolicy: 'lastWriteWins' }))).code).toBe('FORBIDDEN')
      expect((await failure(owner.caller.project.update({ id: project.id, conflictPolicy: 'newest' as never }))).code).toBe('BAD_REQUEST')
      const updated = await owner.caller.project.update({ id: project.id, conflictPolicy: 'lastWriteWins' })
      expect(updated.conflictPolicy).toBe('lastWriteWins')
      expect((await ana.caller.project.byId({ id: project.id })).conflictPolicy).toBe('lastWriteWins')
      const last = await db.prisma.projectEvent.findFirstOrThrow({ where: { projectId: project.id }, orderBy: { seq: 'desc' } })
      expect(last).toMatchObject({ type: 'project.updated', data: { changes: { conflictPolicy: { from: 'merge', to: 'lastWriteWins' } } } })
    })

    it('lastWriteWins: the stale write wins per field, and the log keeps what it overwrote', async () => {
      const project = await teamProject()
      await owner.caller.project.update({ id: project.id, conflictPolicy: 'lastWriteWins' })
      const task = await owner.caller.task.create(taskInput(project.id, { title: 'Original', description: 'Base text' }))
      await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Ana', description: 'Ana text', priority: 'HIGH' } })
      const won = await ben.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Ben', description: 'Ben text', labels: ['b'] } })
      expect(won).toMatchObject({ title: 'Ben', description: 'Ben text', priority: 'HIGH', labels: ['b'], version: 3 })
      expect((await eventsOf(task.id)).at(-1)).toMatchObject({
        actorId: ben.user.id,
        data: { version: 3, changes: { title: { from: 'Ana', to: 'Ben' }, description: { from: 'Ana text', to: 'Ben text' }, labels: { from: [], to: ['b'] } } },
      })

      // Back to merge: the same kind of write conflicts again.
      await owner.caller.project.update({ id: project.id, conflictPolicy: 'merge' })
      expect((await failure(ana.caller.task.update({ id: task.id, baseVersion: 2, patch: { title: 'Ana again' } }))).code).toBe('CONFLICT')
    })
  })
})
