import { defineNitroPlugin } from 'nitropack/runtime'
import { loadBundledMigrations } from '../utils/bundledMigrations'
import { getAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { createReadiness, setReadiness } from '../utils/readiness'

// The readiness check behind /api/ready (docs/operations.md): the app database, the bundled
// migrations, and Redis when REDIS_URL is set (on a connection of its own, closed at shutdown).
export default defineNitroPlugin((nitroApp) => {
  let names: Promise<string[]> | undefined
  const readiness = createReadiness({
    db: async () => (await getAppDatabase()).prisma,
    migrationNames: () => (names ??= loadBundledMigrations().then(list => list.map(m => m.name))),
    redisUrl: useEnv().REDIS_URL,
  })
  setReadiness(readiness)
  nitroApp.hooks.hook('close', async () => {
    setReadiness(undefined)
    await readiness.close()
  })
})
