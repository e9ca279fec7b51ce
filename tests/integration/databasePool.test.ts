// DATABASE_POOL_MAX bounds the PostgreSQL connections an instance opens (docs/operations.md, Performance tuning).
import { describe, expect, inject, it } from 'vitest'
import { bootDatabase } from '../../server/utils/database'
import { parseEnv } from '../../server/utils/env'
import { databaseAvailable, usingPostgres } from '../setup/testDb'

describe.runIf(usingPostgres && databaseAvailable)('DATABASE_POOL_MAX', () => {
  /** Backend pids that served `calls` concurrent 200 ms queries through an instance's pool of `max`. */
  async function backends(max: string | undefined, calls: number): Promise<Set<number>> {
    const env = parseEnv({ DATABASE_URL: inject('postgresUrl'), SEED_DEMO: 'false', LOG_LEVEL: 'warn', ...(max ? { DATABASE_POOL_MAX: max } : {}) })
    const db = await bootDatabase({ env, loadMigrations: async () => [] })
    try {
      const rows = await Promise.all(Array.from({ length: calls }, () =>
        db.prisma.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid, pg_sleep(0.2)::text AS slept')))
      return new Set(rows.map(r => r[0]!.pid))
    }
    finally {
      await db.close()
    }
  }

  it('opens at most DATABASE_POOL_MAX connections, 10 by default', async () => {
    expect((await backends('2', 8)).size).toBeLessThanOrEqual(2)
    expect((await backends(undefined, 12)).size).toBeGreaterThan(2)
    expect((await backends(undefined, 12)).size).toBeLessThanOrEqual(10)
  })
})
