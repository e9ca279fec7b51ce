import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Minimal SQL surface the migrator needs; implemented by PGlite and by a `pg` client. */
export interface SqlRunner {
  exec: (sql: string) => Promise<unknown>
  query: <T>(sql: string, params?: unknown[]) => Promise<T[]>
}

export interface Migration {
  name: string
  sql: string
}

interface AppliedRow {
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
}

// Same table `prisma migrate deploy` creates, so the two tools agree on what has been applied.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

// Arbitrary constant key: several instances starting together take turns migrating.
const LOCK_KEY = 72707369

/** Prisma's checksum: hex SHA-256 of the migration.sql bytes. */
export function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex')
}

export async function readMigrationsFromDir(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const names = entries.filter(e => e.isDirectory()).map(e => e.name).sort()
  return Promise.all(names.map(async name => ({ name, sql: await readFile(join(dir, name, 'migration.sql'), 'utf8') })))
}

export interface MigrateResult {
  applied: string[]
  modified: string[]
}

/**
 * Applies pending migrations in name order, each in its own transaction, recording them the way
 * `prisma migrate deploy` does. A migration that failed earlier (no finished_at) stops the start.
 */
export async function migrate(db: SqlRunner, migrations: Migration[], opts: { lock?: boolean } = {}): Promise<MigrateResult> {
  if (opts.lock) await db.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
  try {
    await db.exec(CREATE_TABLE)
    const rows = await db.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
    )
    const byName = new Map(rows.filter(r => !r.rolled_back_at).map(r => [r.migration_name, r]))
    const result: MigrateResult = { applied: [], modified: [] }
    for (const m of migrations) {
      const sum = checksum(m.sql)
      const row = byName.get(m.name)
      if (row) {
        if (!row.finished_at) {
          throw new Error(`Migration ${m.name} failed earlier and needs manual attention (see docs/migrations.md)`)
        }
        if (row.checksum !== sum) result.modified.push(m.name)
        continue
      }
      const id = randomUUID()
      await db.exec('BEGIN')
      try {
        await db.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, sum, m.name],
        )
        await db.exec(m.sql)
        await db.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id])
        await db.exec('COMMIT')
      }
      catch (error) {
        await db.exec('ROLLBACK')
        throw new Error(`Migration ${m.name} failed: ${(error as Error).message}`, { cause: error })
      }
      result.applied.push(m.name)
    }
    return result
  }
  finally {
    if (opts.lock) await db.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY])
  }
}
