import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import { callerFor, failure, projectWithTeam, signUp } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('task.mine', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(() => db?.close())

  it('lists the tasks assigned to the caller across their projects, with each project and its seq', async () => {
    const a = await projectWithTeam(db)
    const me = await a.addMember('MEMBER')
    const b = await projectWithTeam(db)
    await b.owner.caller.member.add({ projectId: b.project.id, username: me.user.username, role: 'VIEWER' })
    const other = await a.addMember('MEMBER')

    const mineA = await a.owner.caller.task.create({ projectId: a.project.id, title: 'Mine in A', assigneeId: me.user.id, dueDate: new Date('2030-01-01') })
    await a.owner.caller.task.create({ projectId: a.project.id, title: 'Someone else’s', assigneeId: other.user.id })
    await a.owner.caller.task.create({ projectId: a.project.id, title: 'Nobody’s' })
    const mineB = await b.owner.caller.task.create({ projectId: b.project.id, title: 'Mine in B', assigneeId: me.user.id, status: 'IN_PROGRESS' })
    const gone = await b.owner.caller.task.create({ projectId: b.project.id, title: 'Deleted', assigneeId: me.user.id })
    await b.owner.caller.task.delete({ id: gone.id })

    const bug = await a.owner.caller.label.create({ projectId: a.project.id, name: 'bug', color: 'red' })
    const result = await me.caller.task.mine()
    expect(result.labels).toEqual([bug])
    expect(result.tasks.map(t => t.id).sort()).toEqual([mineA.id, mineB.id].sort())
    expect(result.tasks.find(t => t.id === mineA.id)).toMatchObject({ projectId: a.project.id, number: 1, assignee: { id: me.user.id } })
    expect(result.tasks[0]).not.toHaveProperty('description')
    const seqA = (await a.owner.caller.project.byId({ id: a.project.id })).eventSeq
    expect(result.projects.find(p => p.id === a.project.id)).toEqual({ id: a.project.id, key: a.project.key, name: a.project.name, eventSeq: seqA })
    expect(result.projects.map(p => p.id).sort()).toEqual([a.project.id, b.project.id].sort())
  })

  it('leaves out projects the caller is no longer in, and needs a signed-in user', async () => {
    const a = await projectWithTeam(db)
    const me = await a.addMember('MEMBER')
    await a.owner.caller.task.create({ projectId: a.project.id, title: 'Assigned, then I left', assigneeId: me.user.id })
    expect((await me.caller.task.mine()).tasks).toHaveLength(1)
    await me.caller.member.leave({ projectId: a.project.id })
    expect(await me.caller.task.mine()).toEqual({ projects: [], tasks: [], labels: [] })
    const loner = await signUp(db)
    expect(await loner.caller.task.mine()).toEqual({ projects: [], tasks: [], labels: [] })
    expect((await failure((await callerFor(db)).task.mine())).code).toBe('UNAUTHORIZED')
  })
})
