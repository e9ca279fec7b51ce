// Vitest global setup for the integration projects: builds one migrated database template per run.
// PGlite: a migrated data dir dumped to a tarball that every test file loads (a fresh PGlite takes
// ~10 s to migrate; loading the dump takes well under a second). PostgreSQL: a template database
// that each test file clones with CREATE DATABASE … TEMPLATE.
import { PGlite } from '@electric-sql/pglite'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { openPostgres } from '../../server/utils/db'
import { migrate, readMigrationsFromDir } from '../../server/utils/migrate'
import { findPostgresBin, startPostgres } from './postgres'

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string
    postgresUrl: string
  }
}

export default async function setup(project: TestProject) {
  const migrations = await readMigrationsFromDir(join(process.cwd(), 'prisma', 'migrations'))
  if (project.name === 'postgres') {
    if (!findPostgresBin()) {
      if (process.env.CI) throw new Error('PostgreSQL binaries are missing in CI (apt-get install -y postgresql)')
      console.warn('[tests] skipping PostgreSQL integration tests: install PostgreSQL (apt-get install -y postgresql) to run them')
      project.provide('postgresUrl', '')
      return
    }
    const server = await startPostgres()
    const db = await openPostgres(server.url('postgres'), { max: 1 })
    await db.prisma.$executeRawUnsafe('CREATE DATABASE tt_template')
    await db.close()
    const template = await openPostgres(server.url('tt_template'), { max: 1 })
    await template.migrate(migrations)
    await template.close()
    project.provide('postgresUrl', server.url('postgres'))
    return () => server.stop()
  }
  const pg = await PGlite.create()
  await migrate({ exec: sql => pg.exec(sql), query: async (sql, params) => (await pg.query(sql, params)).rows as never }, migrations)
  const dump = await pg.dumpDataDir('none')
  await pg.close()
  const file = join(mkdtempSync(join(tmpdir(), 'tt-pglite-')), 'template.tar')
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()))
  project.provide('pgliteTemplate', file)
}
