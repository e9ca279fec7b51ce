import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('project labels', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(() => db?.close())

  async function team() {
    const t = await projectWithTeam(db)
    const [admin, member, viewer, outsider] = [await t.addMember('ADMIN'), await t.addMember('MEMBER'), await t.addMember('VIEWER'), await signUp(db)]
    return { ...t, admin, member, viewer, outsider }
  }

  it('members create labels (unique per project, gray by default) and every member lists them', async () => {
    const { project, member, viewer } = await team()
    const bug = await member.caller.label.create({ projectId: project.id, name: ' bug ', color: 'red' })
    expect(bug).toMatchObject({ projectId: project.id, name: 'bug', color: 'red' })
    expect(await member.caller.label.create({ projectId: project.id, name: 'chore' })).toMatchObject({ color: 'gray' })
    const dup = await failure(member.caller.label.create({ projectId: project.id, name: 'bug' }))
    expect(dup.code).toBe('CONFLICT')
    expect(dup.fieldErrors).toMatchObject({ name: [expect.stringContaining('already exists')] })
    expect((await viewer.caller.label.list({ projectId: project.id })).map(l => [l.name, l.color])).toEqual([['bug', 'red'], ['chore', 'gray']])
    // Same name in another project is fine.
    const other = await projectWithTeam(db)
    expect(await other.owner.caller.label.create({ projectId: other.project.id, name: 'bug' })).toMatchObject({ name: 'bug' })
  })

  it('checks roles and membership, and validates names and colours', async () => {
    const { project, owner, member, viewer, outsider } = await team()
    const label = await owner.caller.label.create({ projectId: project.id, name: 'ui', color: 'blue' })
    expect((await failure(viewer.caller.label.create({ projectId: project.id, name: 'x' }))).code).toBe('FORBIDDEN')
    expect((await failure(outsider.caller.label.create({ projectId: project.id, name: 'x' }))).code).toBe('NOT_FOUND')
    expect((await failure(outsider.caller.label.list({ projectId: project.id }))).code).toBe('NOT_FOUND')
    expect((await failure(member.caller.label.update({ id: label.id, patch: { color: 'red' } }))).code).toBe('FORBIDDEN')
    expect((await failure(member.caller.label.delete({ id: label.id }))).code).toBe('FORBIDDEN')
    expect((await failure(outsider.caller.label.update({ id: label.id, patch: { color: 'red' } }))).code).toBe('NOT_FOUND')
    expect((await failure(owner.caller.label.update({ id: 'nope', patch: { color: 'red' } }))).code).toBe('NOT_FOUND')
    const badColour = await failure(owner.caller.label.create({ projectId: project.id, name: 'y', color: '#ff0000' as never }))
    expect(badColour.code).toBe('BAD_REQUEST')
    expect(badColour.fieldErrors).toHaveProperty('color')
    const long = await failure(owner.caller.label.create({ projectId: project.id, name: 'x'.repeat(33) }))
    expect(long.fieldErrors).toHaveProperty('name')
    expect((await failure(owner.caller.label.update({ id: label.id, patch: {} }))).code).toBe('BAD_REQUEST')
  })

  it('renaming a label renames it on its tasks with a task.updated event each; recolouring leaves tasks alone', async () => {
    const { project, owner, admin, member } = await team()
    const label = await owner.caller.label.create({ projectId: project.id, name: 'bug', color: 'red' })
    await owner.caller.label.create({ projectId: project.id, name: 'ui' })
    const tagged = await member.caller.task.create({ projectId: project.id, title: 'Tagged', labels: ['bug', 'ui'] })
    const both = await member.caller.task.create({ projectId: project.id, title: 'Both', labels: ['bug', 'defect'] })
    const plain = await member.caller.task.create({ projectId: project.id, title: 'Plain', labels: ['ui'] })
    expect((await failure(admin.caller.label.update({ id: label.id, patch: { name: 'ui' } }))).code).toBe('CONFLICT')

    const { eventSeq } = await owner.caller.project.byId({ id: project.id })
    const renamed = await admin.caller.label.update({ id: label.id, patch: { name: 'defect', color: 'orange' } })
    expect(renamed).toMatchObject({ id: label.id, name: 'defect', color: 'orange' })
    expect(await member.caller.task.byId({ id: tagged.id })).toMatchObject({ labels: ['defect', 'ui'], version: 2 })
    // A task that already had the new name keeps it once.
    expect(await member.caller.task.byId({ id: both.id })).toMatchObject({ labels: ['defect'], version: 2 })
    expect(await member.caller.task.byId({ id: plain.id })).toMatchObject({ labels: ['ui'], version: 1 })

    const events = (await owner.caller.project.eventsSince({ projectId: project.id, lastEventId: String(eventSeq) })).events.map(e => e.data)
    expect(events.map(e => [e.type, e.entityId])).toEqual([['label.updated', label.id], ['task.updated', tagged.id], ['task.updated', both.id]])
    expect(events[0]!.data).toEqual({ changes: { name: { from: 'bug', to: 'defect' }, color: { from: 'red', to: 'orange' } } })
    expect(events[1]!.data).toEqual({ version: 2, changes: { labels: { from: ['bug', 'ui'], to: ['defect', 'ui'] } } })

    // Someone editing the task from before the rename: other fields merge, their labels do not go back.
    const merged = await member.caller.task.update({ id: tagged.id, baseVersion: 1, patch: { title: 'Tagged, edited' } })
    expect(merged).toMatchObject({ title: 'Tagged, edited', labels: ['defect', 'ui'] })

    await admin.caller.label.update({ id: label.id, patch: { color: 'green' } })
    expect(await member.caller.task.byId({ id: plain.id })).toMatchObject({ version: 1 })
  })

  it('deleting a label takes it off its tasks', async () => {
    const { project, owner, member } = await team()
    const label = await owner.caller.label.create({ projectId: project.id, name: 'later' })
    const task = await member.caller.task.create({ projectId: project.id, title: 'Someday', labels: ['later', 'x'] })
    expect(await owner.caller.label.delete({ id: label.id })).toEqual({ id: label.id, projectId: project.id, tasks: 1 })
    expect(await member.caller.task.byId({ id: task.id })).toMatchObject({ labels: ['x'], version: 2 })
    expect(await owner.caller.label.list({ projectId: project.id })).toEqual([])
    const activity = await owner.caller.activity.list({ projectId: project.id })
    expect(activity.items.find(i => i.type === 'label.deleted')).toMatchObject({ target: { kind: 'label', title: 'later' } })
  })
})
