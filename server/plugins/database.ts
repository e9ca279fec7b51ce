import { defineNitroPlugin } from 'nitropack/runtime'
import { DEMO_PASSWORD, DEMO_USERS, seedDemo } from '../services/seed'
import { loadBundledMigrations } from '../utils/bundledMigrations'
import { bootDatabase, setAppDatabase } from '../utils/database'
import { useEnv, type Env } from '../utils/env'
import { logger } from '../utils/logger'

export default defineNitroPlugin(() => {
  // the first plugin to read the configuration: a bad one stops the start with its one line, no stack
  let env: Env
  try {
    env = useEnv()
  }
  catch (error) {
    console.error(`[tasktracker] cannot start: ${(error as Error).message}`)
    process.exit(1)
  }
  const ready = bootDatabase({
    env,
    loadMigrations: loadBundledMigrations,
    seed: async (db) => {
      if (await seedDemo(db.prisma)) {
        logger.info(`seeded the demo workspace: sign in as ${DEMO_USERS.map(u => u.username).join(', ')} with password "${DEMO_PASSWORD}"`)
      }
    },
  })
  ready.catch((error: Error) => {
    logger.error(`cannot start: ${error.message}`)
    process.exit(1)
  })
  setAppDatabase(ready)
  // The one-off migrate task (compose's `migrate` service, an ECS run-task before a deploy): the
  // same image and code path as an app start, ending once the database is migrated. Apps still
  // migrate at start by default; after this they find nothing pending (advisory lock, docs/migrations.md).
  if (env.MIGRATE_ONLY) {
    ready.then(async (db) => {
      await db.close()
      logger.info('MIGRATE_ONLY: migrations applied, exiting')
      process.exit(0)
    }, () => {})
  }
})
