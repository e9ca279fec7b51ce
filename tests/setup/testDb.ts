import { PGlite } from '@electric-sql/pglite'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { inject } from 'vitest'
import { openPglite, openPostgres, type Database } from '../../server/utils/db'

export const usingPostgres = process.env.TEST_DB === 'postgres'
/** False when the PostgreSQL project runs on a machine without PostgreSQL (outside CI). */
export const databaseAvailable = !usingPostgres || Boolean(inject('postgresUrl'))

/** A fresh, migrated database for one test file: a PGlite loaded from the template, or a PostgreSQL clone. */
export async function createTestDatabase(): Promise<Database> {
  if (usingPostgres) {
    const adminUrl = inject('postgresUrl')
    const name = `tt_${Math.random().toString(36).slice(2, 12)}`
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name} TEMPLATE tt_template`)
    await admin.end()
    return openPostgres(adminUrl.replace(/\/postgres$/, `/${name}`), { max: 5 })
  }
  const tarball = readFileSync(inject('pgliteTemplate'))
  const client = await PGlite.create({ loadDataDir: new Blob([tarball]) })
  return openPglite({ client })
}
