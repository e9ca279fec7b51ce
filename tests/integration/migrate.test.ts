import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { bootDatabase } from '../../server/utils/database'
import type { Database } from '../../server/utils/db'
import { parseEnv } from '../../server/utils/env'
import { readMigrationsFromDir, type Migration } from '../../server/utils/migrate'
import { createTestDatabase, databaseAvailable, usingPostgres } from '../setup/testDb'

interface MigrationRow {
  migration_name: string
  checksum: string
  finished_at: Date | null
  applied_steps_count: number
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const migrationsDir = join(process.cwd(), 'prisma', 'migrations')

describe.runIf(databaseAvailable)('migrations', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(() => db?.close())

  const rows = () => db.prisma.$queryRawUnsafe<MigrationRow[]>('SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name')
  const tableExists = async (name: string) =>
    (await db.prisma.$queryRawUnsafe<{ t: string | null }[]>(`SELECT to_regclass('public."${name}"')::text AS t`))[0]!.t !== null

  it('records every committed migration like prisma migrate deploy: sha256 checksum, finished', async () => {
    const migrations = await readMigrationsFromDir(migrationsDir)
    expect(migrations.length).toBeGreaterThan(0)
    const recorded = await rows()
    expect(recorded.map(r => r.migration_name)).toEqual(migrations.map(m => m.name))
    for (const m of migrations) {
      const file = await readFile(join(migrationsDir, m.name, 'migration.sql'), 'utf8')
      const row = recorded.find(r => r.migration_name === m.name)!
      expect(row.checksum).toBe(sha256(file))
      expect(row.finished_at).toBeInstanceOf(Date)
      expect(row.applied_steps_count).toBe(1)
    }
  })

  it('running again applies nothing; an edited migration is reported as modified, not re-run', async () => {
    const migrations = await readMigrationsFromDir(migrationsDir)
    expect(await db.migrate(migrations)).toEqual({ applied: [], modified: [] })

    const edited = migrations.map((m, i) => i === 0 ? { ...m, sql: `${m.sql}\n-- edited after release\n` } : m)
    expect(await db.migrate(edited)).toEqual({ applied: [], modified: [migrations[0]!.name] })
    expect((await rows()).find(r => r.migration_name === migrations[0]!.name)!.checksum).toBe(sha256(migrations[0]!.sql))
  })

  it('a failing migration rolls back completely and throws; the next run can apply a fixed one', async () => {
    const migrations = await readMigrationsFromDir(migrationsDir)
    const broken: Migration = { name: '29990101000000_broken', sql: 'CREATE TABLE "HalfDone" (id int);\nSELECT * FROM "no_such_table";' }
    await expect(db.migrate([...migrations, broken])).rejects.toThrow(/29990101000000_broken failed: .*no_such_table/)
    expect(await tableExists('HalfDone')).toBe(false)
    expect((await rows()).map(r => r.migration_name)).not.toContain(broken.name)

    const fixed = { ...broken, sql: 'CREATE TABLE "HalfDone" (id int);' }
    expect(await db.migrate([...migrations, fixed])).toEqual({ applied: [fixed.name], modified: [] })
    expect(await tableExists('HalfDone')).toBe(true)
    expect((await rows()).find(r => r.migration_name === fixed.name)).toMatchObject({ checksum: sha256(fixed.sql), finished_at: expect.any(Date) })
    // The app still works on top of it: it writes and reads through Prisma.
    const user = await db.prisma.user.create({ data: { id: `after-migrate-${Date.now()}`, email: `after-migrate-${Date.now()}@example.test`, username: `aftermigrate${Date.now()}`, name: 'After', passwordHash: 'x' } })
    expect(await db.prisma.user.findUnique({ where: { id: user.id }, select: { username: true } })).toEqual({ username: user.username })
  })

  // Independent of the database under test: run it once, in the PGlite project (a fresh PGlite takes seconds).
  describe.runIf(!usingPostgres)('on a fresh embedded database, as the server boots', () => {
    let fresh: Database
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const warn = vi.spyOn(console, 'error').mockImplementation(() => {})
    const toy: Migration[] = [
      { name: '0001_people', sql: 'CREATE TABLE people (id int primary key, name text not null);' },
      { name: '0002_pets', sql: 'CREATE TABLE pets (id int primary key, owner int references people(id));' },
    ]
    const boot = (migrations: Migration[]) => bootDatabase({ env: parseEnv({ PGLITE_DIR: 'memory://', SEED_DEMO: 'false' }), loadMigrations: async () => migrations })

    beforeAll(async () => {
      fresh = await boot(toy)
    })
    afterAll(async () => {
      await fresh?.close()
      log.mockRestore()
      warn.mockRestore()
    })

    const freshRows = () => fresh.prisma.$queryRawUnsafe<MigrationRow[]>('SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name')

    it('creates _prisma_migrations, records each applied migration and says so in the log', async () => {
      const recorded = await freshRows()
      expect(recorded.map(r => [r.migration_name, r.checksum, r.applied_steps_count])).toEqual(toy.map(m => [m.name, sha256(m.sql), 1]))
      expect(recorded.every(r => r.finished_at instanceof Date)).toBe(true)
      expect(log.mock.calls.flat().join('\n')).toMatch(/applied migrations on embedded PGlite in memory:\/\/: 0001_people, 0002_pets/)
      await fresh.prisma.$executeRawUnsafe('INSERT INTO people VALUES (1, \'Ana\')')
      expect(await fresh.migrate(toy)).toEqual({ applied: [], modified: [] })
    })

    it('reports an edited migration instead of re-running it', async () => {
      expect(await fresh.migrate([toy[0]!, { ...toy[1]!, sql: `${toy[1]!.sql} -- edited` }])).toEqual({ applied: [], modified: ['0002_pets'] })
    })

    it('refuses to start over a migration that failed earlier (no finished_at)', async () => {
      await fresh.prisma.$executeRawUnsafe('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())', '00000000-0000-0000-0000-000000000003', sha256('x'), '0003_crashed')
      const next = { name: '0003_crashed', sql: 'CREATE TABLE crashed (id int);' }
      await expect(fresh.migrate([...toy, next])).rejects.toThrow(/0003_crashed failed earlier and needs manual attention/)
      expect((await fresh.prisma.$queryRawUnsafe<{ t: string | null }[]>('SELECT to_regclass(\'crashed\')::text AS t'))[0]!.t).toBeNull()
    })
  })
})
