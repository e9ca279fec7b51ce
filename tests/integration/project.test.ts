import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('projects', () => {
  let db: Database
  let team: Awaited<ReturnType<typeof projectWithTeam>>
  let admin: Awaited<ReturnType<typeof signUp>>
  let member: Awaited<ReturnType<typeof signUp>>
  let viewer: Awaited<ReturnType<typeof signUp>>
  let outsider: Awaited<ReturnType<typeof signUp>>

  beforeAll(async () => {
    db = await createTestDatabase()
    team = await projectWithTeam(db)
    admin = await team.addMember('ADMIN')
    member = await team.addMember('MEMBER')
    viewer = await team.addMember('VIEWER')
    outsider = await signUp(db)
  })
  afterAll(() => db?.close())

  it('create makes the creator OWNER and derives the key from the name', async () => {
    const created = await outsider.caller.project.create({ name: 'Website relaunch', description: 'Q3' })
    expect(created).toMatchObject({ name: 'Website relaunch', key: 'WR', description: 'Q3', role: 'OWNER' })
    expect(await outsider.caller.member.list({ projectId: created.id })).toEqual([
      expect.objectContaining({ id: outsider.user.id, role: 'OWNER' }),
    ])
    expect(await outsider.caller.project.byId({ id: created.id })).toMatchObject({ key: 'WR', role: 'OWNER', eventSeq: created.eventSeq })

    expect((await outsider.caller.project.create({ name: 'api' })).key).toBe('API')
    expect((await outsider.caller.project.create({ name: 'Mobile', key: 'app2' })).key).toBe('APP2')
  })

  it('create rejects a blank name or a malformed key with field errors', async () => {
    const f = await failure(outsider.caller.project.create({ name: '   ', key: '1abc' }))
    expect(f.code).toBe('BAD_REQUEST')
    expect(Object.keys(f.fieldErrors!).sort()).toEqual(['key', 'name'])
  })

  it('list shows only the projects the user belongs to, with role and counts', async () => {
    const solo = await signUp(db)
    expect(await solo.caller.project.list()).toEqual([])
    const own = await solo.caller.project.create({ name: 'Zeta solo' })
    await solo.caller.task.create({ projectId: own.id, title: 'one' })
    const list = await solo.caller.project.list()
    expect(list).toEqual([expect.objectContaining({ id: own.id, role: 'OWNER', memberCount: 1, taskCount: 1 })])

    const memberView = (await member.caller.project.list()).find(p => p.id === team.project.id)
    expect(memberView).toMatchObject({ role: 'MEMBER', memberCount: 4 })
    expect((await member.caller.project.list()).map(p => p.id)).not.toContain(own.id)
  })

  it('list orders projects by name', async () => {
    const u = await signUp(db)
    await u.caller.project.create({ name: 'beta' })
    await u.caller.project.create({ name: 'Alpha' })
    await u.caller.project.create({ name: 'Gamma' })
    const names = (await u.caller.project.list()).map(p => p.name)
    expect(names).toHaveLength(3)
    expect(names[2]).toBe('beta')
  })

  it('byId hides projects from non-members exactly like missing ones', async () => {
    const hidden = await failure(outsider.caller.project.byId({ id: team.project.id }))
    const missing = await failure(outsider.caller.project.byId({ id: 'no-such-project' }))
    expect(hidden.code).toBe('NOT_FOUND')
    expect(missing.code).toBe('NOT_FOUND')
    expect(hidden.message).toContain(team.project.id)
    expect((await viewer.caller.project.byId({ id: team.project.id })).role).toBe('VIEWER')
  })

  it('update is for owners and admins; members and viewers get FORBIDDEN', async () => {
    const renamed = await team.owner.caller.project.update({ id: team.project.id, name: 'Renamed by owner' })
    expect(renamed.name).toBe('Renamed by owner')
    const described = await admin.caller.project.update({ id: team.project.id, description: 'Set by admin' })
    expect(described).toMatchObject({ name: 'Renamed by owner', description: 'Set by admin', role: 'ADMIN' })

    for (const who of [member, viewer]) {
      const f = await failure(who.caller.project.update({ id: team.project.id, name: 'Hijacked' }))
      expect(f.code).toBe('FORBIDDEN')
    }
    expect((await failure(outsider.caller.project.update({ id: team.project.id, name: 'Hijacked' }))).code).toBe('NOT_FOUND')
    expect((await team.owner.caller.project.byId({ id: team.project.id })).name).toBe('Renamed by owner')
  })

  it('an update that changes nothing writes no event', async () => {
    const before = await team.owner.caller.project.byId({ id: team.project.id })
    const same = await team.owner.caller.project.update({ id: team.project.id, name: before.name, description: before.description })
    expect(same.eventSeq).toBe(before.eventSeq)
    expect(await db.prisma.projectEvent.count({ where: { projectId: team.project.id } })).toBe(before.eventSeq)
  })
})
