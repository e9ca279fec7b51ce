// Applies committed SQL migrations (prisma/migrations) to the configured database, exactly as the app
// does at start: `npm run db:migrate` (DATABASE_URL for PostgreSQL, else PGlite in PGLITE_DIR).
import { join } from 'node:path'
import { openPglite, openPostgres } from '../server/utils/db'
import { parseEnv } from '../server/utils/env'
import { readMigrationsFromDir } from '../server/utils/migrate'

const env = parseEnv()
const db = env.DATABASE_URL ? await openPostgres(env.DATABASE_URL, { max: 1 }) : await openPglite({ dir: env.PGLITE_DIR })
try {
  const result = await db.migrate(await readMigrationsFromDir(join(process.cwd(), 'prisma', 'migrations')))
  console.log(result.applied.length ? `applied: ${result.applied.join(', ')}` : 'database is up to date')
  for (const name of result.modified) console.warn(`warning: ${name} was edited after it was applied`)
}
finally {
  await db.close()
}
