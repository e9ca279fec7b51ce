import { useStorage } from 'nitropack/runtime'
import type { Migration } from './migrate'

// Committed SQL migrations are bundled as server assets (nuxt.config.ts), so the production build
// migrates its database (and /api/ready checks them) without the prisma/ folder.
export async function loadBundledMigrations(): Promise<Migration[]> {
  const storage = useStorage('assets:migrations')
  const keys = (await storage.getKeys()).filter(k => k.endsWith(':migration.sql')).sort()
  return Promise.all(keys.map(async (key) => {
    const raw = await storage.getItemRaw(key)
    const sql = typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array)
    return { name: key.slice(0, -':migration.sql'.length), sql }
  }))
}
