import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_PASSWORD, DEMO_USERS, seedDemo } from '../../server/services/seed'
import type { Database } from '../../server/utils/db'
import { callerFor, cookieJar } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('demo seed', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(() => db?.close())

  it('fills an empty database with a demo team that can sign in, and only once', async () => {
    expect(await seedDemo(db.prisma)).toBe(true)

    const jar = cookieJar()
    const ana = await (await callerFor(db, { jar })).auth.login({ login: DEMO_USERS[0].username, password: DEMO_PASSWORD })
    const caller = await callerFor(db, { jar })
    const [project] = await caller.project.list()
    expect(project).toMatchObject({ key: 'WEB', role: 'OWNER', memberCount: 4, taskCount: 30 })
    expect((await caller.member.list({ projectId: project!.id })).map(m => [m.username, m.role])).toEqual([
      ['ana', 'OWNER'], ['ben', 'ADMIN'], ['cara', 'MEMBER'], ['dan', 'VIEWER'],
    ])
    expect(ana.username).toBe('ana')

    // Seeded through the services: the event log is complete and gapless.
    const seqs = (await db.prisma.projectEvent.findMany({ where: { projectId: project!.id }, orderBy: { seq: 'asc' }, select: { seq: true } })).map(e => e.seq)
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    expect(seqs.length).toBeGreaterThan(30)

    expect(await seedDemo(db.prisma)).toBe(false)
    expect(await db.prisma.user.count()).toBe(4)
  })
})
