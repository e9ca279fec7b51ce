import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import { callerFor, failure, projectWithTeam, sha256Hex, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const DAY = 24 * 60 * 60 * 1000

describe.runIf(databaseAvailable)('API tokens', () => {
  let db: Database
  let team: Awaited<ReturnType<typeof projectWithTeam>>

  beforeAll(async () => {
    db = await createTestDatabase()
    team = await projectWithTeam(db)
  })
  afterAll(() => db?.close())

  it('shows the token once; lists never include it and only its SHA-256 is stored', async () => {
    const created = await team.owner.caller.apiToken.create({ name: 'CI deploys' })
    expect(created.token).toMatch(/^ttp_[a-z2-7]{32}$/)
    expect(created.prefix).toBe(created.token.slice(0, 10))
    expect(created.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 29 * DAY)
    expect(created.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 30 * DAY)

    const list = await team.owner.caller.apiToken.list()
    const listed = list.find(t => t.id === created.id)!
    expect(listed).toMatchObject({ name: 'CI deploys', prefix: created.prefix, lastUsedAt: null })
    expect(listed).not.toHaveProperty('token')
    expect(listed).not.toHaveProperty('tokenHash')
    expect(JSON.stringify(list)).not.toContain(created.token)

    const row = await db.prisma.apiToken.findUniqueOrThrow({ where: { id: created.id } })
    expect(row.tokenHash).toBe(sha256Hex(created.token))
    expect(Object.values(row).map(String)).not.toContain(created.token)
  })

  it('creates a token that never expires when asked to', async () => {
    const created = await team.owner.caller.apiToken.create({ name: 'forever', expiresInDays: null })
    expect(created.expiresAt).toBeNull()
    const f = await failure(team.owner.caller.apiToken.create({ name: '', expiresInDays: 400 }))
    expect(f.code).toBe('BAD_REQUEST')
    expect(Object.keys(f.fieldErrors!).sort()).toEqual(['expiresInDays', 'name'])
  })

  it('a bearer token acts as its owner on project and task procedures', async () => {
    const { token, id } = await team.owner.caller.apiToken.create({ name: 'script' })
    const api = await callerFor(db, { bearer: token })
    expect((await api.auth.me())?.id).toBe(team.owner.user.id)
    expect((await api.project.list()).map(p => p.id)).toContain(team.project.id)

    const task = await api.task.create(taskInput(team.project.id, { title: 'From the API' }))
    expect(task.createdById).toBe(team.owner.user.id)
    expect((await team.owner.caller.task.byId({ id: task.id })).title).toBe('From the API')
    const moved = await api.task.update({ id: task.id, baseVersion: 1, patch: { status: 'DONE' } })
    expect(moved.status).toBe('DONE')

    const row = await db.prisma.apiToken.findUniqueOrThrow({ where: { id } })
    expect(row.lastUsedAt).not.toBeNull()
    // Written at most once a minute, however busy the token is.
    await (await callerFor(db, { bearer: token })).auth.me()
    expect((await db.prisma.apiToken.findUniqueOrThrow({ where: { id } })).lastUsedAt).toEqual(row.lastUsedAt)
    await db.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: new Date(Date.now() - 120_000) } })
    await (await callerFor(db, { bearer: token })).auth.me()
    expect((await db.prisma.apiToken.findUniqueOrThrow({ where: { id } })).lastUsedAt!.getTime()).toBeGreaterThan(Date.now() - 60_000)
  })

  it('rejects unknown, revoked and expired tokens on protected procedures', async () => {
    for (const bogus of ['ttp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'not-a-token']) {
      expect((await failure((await callerFor(db, { bearer: bogus })).project.list())).code).toBe('UNAUTHORIZED')
    }

    const revoked = await team.owner.caller.apiToken.create({ name: 'to revoke' })
    await expect(team.owner.caller.apiToken.revoke({ id: revoked.id })).resolves.toEqual({ id: revoked.id })
    const afterRevoke = await callerFor(db, { bearer: revoked.token })
    expect(await afterRevoke.auth.me()).toBeNull()
    expect((await failure(afterRevoke.project.list())).code).toBe('UNAUTHORIZED')
    expect((await failure(afterRevoke.task.create(taskInput(team.project.id)))).code).toBe('UNAUTHORIZED')
    expect((await team.owner.caller.apiToken.list()).map(t => t.id)).not.toContain(revoked.id)

    const expired = await team.owner.caller.apiToken.create({ name: 'to expire', expiresInDays: 1 })
    expect((await (await callerFor(db, { bearer: expired.token })).project.list()).map(p => p.id)).toContain(team.project.id)
    await db.prisma.apiToken.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } })
    expect((await failure((await callerFor(db, { bearer: expired.token })).task.list({ projectId: team.project.id }))).code).toBe('UNAUTHORIZED')
  })

  it('a token cannot manage tokens or sign out', async () => {
    const { token, id } = await team.owner.caller.apiToken.create({ name: 'leaky' })
    const api = await callerFor(db, { bearer: token })
    expect((await failure(api.apiToken.create({ name: 'more' }))).code).toBe('FORBIDDEN')
    expect((await failure(api.apiToken.list())).code).toBe('FORBIDDEN')
    expect((await failure(api.apiToken.revoke({ id }))).code).toBe('FORBIDDEN')
    expect((await failure(api.auth.logout())).code).toBe('FORBIDDEN')
    expect((await team.owner.caller.apiToken.list()).map(t => t.name)).not.toContain('more')
    expect((await team.owner.caller.apiToken.list()).map(t => t.id)).toContain(id)
  })

  it('revoking an unknown, already revoked or someone else\'s token is NOT_FOUND', async () => {
    expect((await failure(team.owner.caller.apiToken.revoke({ id: 'does-not-exist' }))).code).toBe('NOT_FOUND')

    const mine = await team.owner.caller.apiToken.create({ name: 'mine' })
    const other = await signUp(db)
    expect((await failure(other.caller.apiToken.revoke({ id: mine.id }))).code).toBe('NOT_FOUND')
    expect((await (await callerFor(db, { bearer: mine.token })).project.list()).map(p => p.id)).toContain(team.project.id)
    expect(await other.caller.apiToken.list()).toEqual([])

    await team.owner.caller.apiToken.revoke({ id: mine.id })
    expect((await failure(team.owner.caller.apiToken.revoke({ id: mine.id }))).code).toBe('NOT_FOUND')
  })

  it('guests cannot manage tokens', async () => {
    expect((await failure((await callerFor(db)).apiToken.list())).code).toBe('UNAUTHORIZED')
  })
})
