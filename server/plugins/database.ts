import { defineNitroPlugin, useStorage } from 'nitropack/runtime'
import { DEMO_PASSWORD, DEMO_USERS, seedDemo } from '../services/seed'
import { bootDatabase, setAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'
import type { Migration } from '../utils/migrate'

// Committed SQL migrations are bundled as server assets (nuxt.config.ts), so the production build
// migrates its database without the prisma/ folder.
async function loadBundledMigrations(): Promise<Migration[]> {
  const storage = useStorage('assets:migrations')
  const keys = (await storage.getKeys()).filter(k => k.endsWith(':migration.sql')).sort()
  return Promise.all(keys.map(async (key) => {
    const raw = await storage.getItemRaw(key)
    const sql = typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array)
    return { name: key.slice(0, -':migration.sql'.length), sql }
  }))
}

export default defineNitroPlugin(() => {
  const env = useEnv()
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
})
