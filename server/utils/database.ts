import { openPglite, openPostgres, type Database } from './db'
import type { Env } from './env'
import { logger } from './logger'
import type { Migration } from './migrate'

export interface BootOptions {
  env: Env
  loadMigrations: () => Promise<Migration[]>
  seed?: (db: Database) => Promise<void>
}

/** Opens the configured database, applies pending migrations and (optionally) seeds it. */
export async function bootDatabase({ env, loadMigrations, seed }: BootOptions): Promise<Database> {
  const db = env.DATABASE_URL ? await openPostgres(env.DATABASE_URL, { max: env.DATABASE_POOL_MAX }) : await openPglite({ dir: env.PGLITE_DIR })
  const where = env.DATABASE_URL ? 'PostgreSQL' : `embedded PGlite in ${env.PGLITE_DIR}`
  const result = await db.migrate(await loadMigrations())
  if (result.applied.length) logger.info(`applied migrations on ${where}: ${result.applied.join(', ')}`)
  for (const name of result.modified) logger.warn(`migration ${name} was edited after it was applied; the database keeps the old version`)
  const shouldSeed = env.SEED_DEMO === 'true' || (env.SEED_DEMO === 'auto' && !env.DATABASE_URL)
  if (seed && shouldSeed) await seed(db)
  logger.info(`database ready (${where})`)
  return db
}

let current: Promise<Database> | undefined

/** The process-wide database, set once at start by the Nitro plugin. */
export function setAppDatabase(db: Promise<Database>) {
  current = db
}

export function getAppDatabase(): Promise<Database> {
  if (!current) throw new Error('Database not initialised: server/plugins/database.ts did not run')
  return current
}
