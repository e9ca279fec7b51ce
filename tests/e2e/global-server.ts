import { PGlite } from '@electric-sql/pglite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { migrate, readMigrationsFromDir } from '../../server/utils/migrate'
import { startAppServer } from './appServer'

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string
    /** a migrated, closed PGlite data directory; `migratedDataDir()` copies it for a file's own server */
    pgliteTemplateDir: string
  }
}

/** Migrates an embedded database in `dir` once, for the servers that files start on a copy of it. */
async function migratedTemplate(dir: string) {
  const pg = await PGlite.create({ dataDir: dir })
  try {
    await migrate({ exec: sql => pg.exec(sql), query: async (sql, params) => (await pg.query(sql, params)).rows as never }, await readMigrationsFromDir(join(process.cwd(), 'prisma', 'migrations')))
  }
  finally {
    await pg.close()
  }
}

/**
 * Starts the production build on a fresh embedded database (so a first start, migrations included,
 * is what every run exercises); the browser tests talk to it. Meanwhile it migrates a template that
 * files starting their own server copy (migrating a fresh PGlite takes seconds each time).
 */
export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ttp-e2e-'))
  const templateDir = mkdtempSync(join(tmpdir(), 'ttp-e2e-template-'))
  const cleanUp = () => {
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(templateDir, { recursive: true, force: true })
  }
  // The embedded database only: startAppServer never passes an inherited DATABASE_URL/REDIS_URL on.
  const [server] = await Promise.all([startAppServer({ PGLITE_DIR: dataDir }), migratedTemplate(templateDir)]).catch((error: unknown) => {
    cleanUp()
    throw error
  })
  project.provide('baseUrl', server.baseUrl)
  project.provide('pgliteTemplateDir', templateDir)
  return async () => {
    await server.stop()
    cleanUp()
  }
}
