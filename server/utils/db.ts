import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import pg from 'pg'
import { PrismaClient } from '../generated/prisma/client'
import { migrate, type Migration, type MigrateResult, type SqlRunner } from './migrate'

export type Db = PrismaClient
/** What a service function may run on: the client or an interactive transaction. */
export type DbTx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>

export interface Database {
  kind: 'pglite' | 'postgres'
  prisma: PrismaClient
  migrate: (migrations: Migration[]) => Promise<MigrateResult>
  close: () => Promise<void>
}

function pgliteRunner(client: PGlite): SqlRunner {
  return {
    exec: sql => client.exec(sql),
    query: async <T>(sql: string, params?: unknown[]) => (await client.query<T>(sql, params)).rows,
  }
}

/** Embedded PostgreSQL (PGlite) in `dir`, or an existing PGlite instance (tests load a template). */
export async function openPglite(source: { dir: string } | { client: PGlite }): Promise<Database> {
  let client: PGlite
  if ('client' in source) {
    client = source.client
  }
  else {
    if (!source.dir.startsWith('memory://')) await mkdir(source.dir, { recursive: true })
    client = await PGlite.create({ dataDir: source.dir })
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(client) })
  return {
    kind: 'pglite',
    prisma,
    migrate: migrations => migrate(pgliteRunner(client), migrations),
    close: async () => {
      await prisma.$disconnect()
      await client.close()
    },
  }
}

export async function openPostgres(url: string, opts: { max?: number } = {}): Promise<Database> {
  const adapter = new PrismaPg({ connectionString: url, max: opts.max ?? 10 })
  const prisma = new PrismaClient({ adapter })
  return {
    kind: 'postgres',
    prisma,
    migrate: async (migrations) => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        const runner: SqlRunner = {
          exec: sql => client.query(sql),
          query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
        }
        return await migrate(runner, migrations, { lock: true })
      }
      finally {
        await client.end()
      }
    },
    close: () => prisma.$disconnect(),
  }
}
