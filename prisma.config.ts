import { defineConfig } from 'prisma/config'

// The app applies prisma/migrations itself (server/utils/migrate.ts); this file serves `prisma generate`
// and, on machines with Prisma's schema engine, `prisma migrate diff`.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
})
