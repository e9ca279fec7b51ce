import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp, uniqueName } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

type User = Awaited<ReturnType<typeof signUp>>

describe.runIf(databaseAvailable)('members', () => {
  let db: Database
  /** Spare accounts to add to projects; each test takes its own. */
  const pool: User[] = []
  const nextUser = () => {
    const u = pool.shift()
    if (!u) throw new Error('user pool exhausted: raise its size in beforeAll')
    return u
  }

  beforeAll(async () => {
    db = await createTestDatabase()
    for (let i = 0; i < 14; i++) pool.push(await signUp(db))
  })
  afterAll(() => db?.close())

  const roleOf = async (caller: User['caller'], projectId: string, userId: string) =>
    (await caller.member.list({ projectId })).find(m => m.id === userId)?.role

  describe('add', () => {
    it('adds a user by username (any case) with the given role, visible to the team', async () => {
      const { owner, project } = await projectWithTeam(db)
      const newcomer = nextUser()
      const added = await owner.caller.member.add({ projectId: project.id, username: newcomer.user.username.toUpperCase(), role: 'VIEWER' })
      expect(added).toMatchObject({ id: newcomer.user.id, username: newcomer.user.username, role: 'VIEWER' })
      expect(added).not.toHaveProperty('email')
      expect((await newcomer.caller.project.list()).map(p => p.id)).toContain(project.id)
      expect((await newcomer.caller.member.list({ projectId: project.id })).map(m => [m.id, m.role])).toEqual([
        [owner.user.id, 'OWNER'],
        [newcomer.user.id, 'VIEWER'],
      ])
    })

    it('unknown usernames are NOT_FOUND and existing members CONFLICT, both on the username field', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const unknown = await failure(owner.caller.member.add({ projectId: project.id, username: uniqueName('ghost') }))
      expect(unknown.code).toBe('NOT_FOUND')
      expect(Object.keys(unknown.fieldErrors!)).toEqual(['username'])

      const m = await addMember('MEMBER')
      const dup = await failure(owner.caller.member.add({ projectId: project.id, username: m.user.username, role: 'ADMIN' }))
      expect(dup.code).toBe('CONFLICT')
      expect(Object.keys(dup.fieldErrors!)).toEqual(['username'])
      expect(await roleOf(owner.caller, project.id, m.user.id)).toBe('MEMBER')

      const bad = await failure(owner.caller.member.add({ projectId: project.id, username: 'no spaces!' }))
      expect(bad.code).toBe('BAD_REQUEST')
      expect(Object.keys(bad.fieldErrors!)).toEqual(['username'])
    })

    it('only owners and admins add members, and only owners add owners', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const admin = await addMember('ADMIN')
      const member = await addMember('MEMBER')
      const viewer = await addMember('VIEWER')
      const [a, b, c] = [nextUser(), nextUser(), nextUser()]

      for (const who of [member, viewer]) {
        expect((await failure(who.caller.member.add({ projectId: project.id, username: a.user.username }))).code).toBe('FORBIDDEN')
      }
      expect((await failure(admin.caller.member.add({ projectId: project.id, username: a.user.username, role: 'OWNER' }))).code).toBe('FORBIDDEN')
      expect((await failure(a.caller.member.add({ projectId: project.id, username: b.user.username }))).code).toBe('NOT_FOUND')

      await expect(admin.caller.member.add({ projectId: project.id, username: a.user.username, role: 'ADMIN' })).resolves.toMatchObject({ role: 'ADMIN' })
      await expect(admin.caller.member.add({ projectId: project.id, username: b.user.username })).resolves.toMatchObject({ role: 'MEMBER' })
      await expect(owner.caller.member.add({ projectId: project.id, username: c.user.username, role: 'OWNER' })).resolves.toMatchObject({ role: 'OWNER' })
    })
  })

  describe('updateRole', () => {
    it('follows the role matrix', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const admin = await addMember('ADMIN')
      const member = await addMember('MEMBER')
      const viewer = await addMember('VIEWER')
      const change = (who: User, target: User, role: 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER') =>
        who.caller.member.updateRole({ projectId: project.id, userId: target.user.id, role })

      // Members and viewers manage nobody.
      expect((await failure(change(member, viewer, 'MEMBER'))).code).toBe('FORBIDDEN')
      expect((await failure(change(viewer, viewer, 'ADMIN'))).code).toBe('FORBIDDEN')
      // Admins manage non-owners but cannot grant, change or take the owner role.
      await expect(change(admin, viewer, 'MEMBER')).resolves.toEqual({ userId: viewer.user.id, role: 'MEMBER' })
      expect((await failure(change(admin, member, 'OWNER'))).code).toBe('FORBIDDEN')
      expect((await failure(change(admin, owner, 'ADMIN'))).code).toBe('FORBIDDEN')
      expect((await failure(change(admin, admin, 'OWNER'))).code).toBe('FORBIDDEN')
      // Owners do everything.
      await expect(change(owner, member, 'OWNER')).resolves.toEqual({ userId: member.user.id, role: 'OWNER' })
      await expect(change(owner, admin, 'VIEWER')).resolves.toEqual({ userId: admin.user.id, role: 'VIEWER' })

      const roles = Object.fromEntries((await owner.caller.member.list({ projectId: project.id })).map(m => [m.id, m.role]))
      expect(roles).toEqual({
        [owner.user.id]: 'OWNER',
        [member.user.id]: 'OWNER',
        [admin.user.id]: 'VIEWER',
        [viewer.user.id]: 'MEMBER',
      })
      // The demoted admin lost its powers at once.
      expect((await failure(change(admin, viewer, 'VIEWER'))).code).toBe('FORBIDDEN')
      expect((await failure(change(owner, nextUser(), 'MEMBER'))).code).toBe('NOT_FOUND')
    })

    it('the last owner cannot be demoted; with a second owner they can', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const f = await failure(owner.caller.member.updateRole({ projectId: project.id, userId: owner.user.id, role: 'ADMIN' }))
      expect(f.code).toBe('BAD_REQUEST')
      expect(await roleOf(owner.caller, project.id, owner.user.id)).toBe('OWNER')

      await addMember('OWNER')
      await expect(owner.caller.member.updateRole({ projectId: project.id, userId: owner.user.id, role: 'ADMIN' })).resolves.toMatchObject({ role: 'ADMIN' })
    })
  })

  describe('remove and leave', () => {
    it('removing a member unassigns their tasks, bumps those versions and locks them out', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const member = await addMember('MEMBER')
      const theirs = await owner.caller.task.create({ projectId: project.id, title: 'Theirs', assigneeId: member.user.id })
      const mine = await owner.caller.task.create({ projectId: project.id, title: 'Mine', assigneeId: owner.user.id })

      await expect(owner.caller.member.remove({ projectId: project.id, userId: member.user.id })).resolves.toEqual({ projectId: project.id, userId: member.user.id })

      const after = await owner.caller.task.byId({ id: theirs.id })
      expect(after).toMatchObject({ assigneeId: null, assignee: null, version: theirs.version + 1 })
      expect(await owner.caller.task.byId({ id: mine.id })).toMatchObject({ assigneeId: owner.user.id, version: mine.version })
      expect((await owner.caller.member.list({ projectId: project.id })).map(m => m.id)).toEqual([owner.user.id])

      expect((await failure(member.caller.project.byId({ id: project.id }))).code).toBe('NOT_FOUND')
      expect((await failure(member.caller.task.byId({ id: theirs.id }))).code).toBe('NOT_FOUND')
      expect((await member.caller.project.list()).map(p => p.id)).not.toContain(project.id)
      // A stale edit of the assignee conflicts with the unassignment instead of silently reassigning.
      expect((await failure(owner.caller.task.update({ id: theirs.id, baseVersion: theirs.version, patch: { assigneeId: owner.user.id } }))).code).toBe('CONFLICT')
    })

    it('only owners and admins remove others; admins cannot remove owners', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const admin = await addMember('ADMIN')
      const member = await addMember('MEMBER')
      const viewer = await addMember('VIEWER')
      const remove = (who: User, target: User) => who.caller.member.remove({ projectId: project.id, userId: target.user.id })

      expect((await failure(remove(member, viewer))).code).toBe('FORBIDDEN')
      expect((await failure(remove(viewer, member))).code).toBe('FORBIDDEN')
      expect((await failure(remove(admin, owner))).code).toBe('FORBIDDEN')
      expect((await failure(remove(admin, nextUser()))).code).toBe('NOT_FOUND')
      await remove(admin, viewer)
      await remove(owner, admin)
      expect((await owner.caller.member.list({ projectId: project.id })).map(m => m.id).sort()).toEqual([owner.user.id, member.user.id].sort())
    })

    it('the last owner cannot be removed or leave; members can leave', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const member = await addMember('MEMBER')
      expect((await failure(owner.caller.member.remove({ projectId: project.id, userId: owner.user.id }))).code).toBe('BAD_REQUEST')
      expect((await failure(owner.caller.member.leave({ projectId: project.id }))).code).toBe('BAD_REQUEST')
      expect(await roleOf(owner.caller, project.id, owner.user.id)).toBe('OWNER')

      const task = await member.caller.task.create({ projectId: project.id, title: 'Mine', assigneeId: member.user.id })
      await expect(member.caller.member.leave({ projectId: project.id })).resolves.toEqual({ projectId: project.id })
      expect((await member.caller.project.list()).map(p => p.id)).not.toContain(project.id)
      expect((await owner.caller.task.byId({ id: task.id })).assigneeId).toBeNull()
      expect((await failure(member.caller.member.leave({ projectId: project.id }))).code).toBe('NOT_FOUND')
    })

    it('an owner can leave when another owner stays', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const second = await addMember('OWNER')
      await owner.caller.member.leave({ projectId: project.id })
      expect((await second.caller.member.list({ projectId: project.id })).map(m => [m.id, m.role])).toEqual([[second.user.id, 'OWNER']])
      expect((await failure(second.caller.member.leave({ projectId: project.id }))).code).toBe('BAD_REQUEST')
    })

    it('owners leaving or being demoted at the same time always leave one owner behind', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const owners = [owner, await addMember('OWNER'), await addMember('OWNER')]
      const results = await Promise.allSettled(owners.map(o => o.caller.member.leave({ projectId: project.id })))
      expect(results.map(r => r.status).sort()).toEqual(['fulfilled', 'fulfilled', 'rejected'])
      expect(await db.prisma.projectMember.count({ where: { projectId: project.id, role: 'OWNER' } })).toBe(1)

      const [last] = await db.prisma.projectMember.findMany({ where: { projectId: project.id } })
      const survivor = owners.find(o => o.user.id === last!.userId)!
      const more = [await signUp(db), await signUp(db)]
      for (const m of more) await survivor.caller.member.add({ projectId: project.id, username: m.user.username, role: 'OWNER' })
      // Each owner steps down to admin at once.
      const stepDown = await Promise.allSettled([survivor, ...more].map(o => o.caller.member.updateRole({ projectId: project.id, userId: o.user.id, role: 'ADMIN' })))
      expect(stepDown.map(r => r.status).sort()).toEqual(['fulfilled', 'fulfilled', 'rejected'])
      expect(await db.prisma.projectMember.count({ where: { projectId: project.id, role: 'OWNER' } })).toBe(1)
    })

    it('non-members cannot list members', async () => {
      const { project } = await projectWithTeam(db)
      expect((await failure(nextUser().caller.member.list({ projectId: project.id }))).code).toBe('NOT_FOUND')
    })
  })
})
