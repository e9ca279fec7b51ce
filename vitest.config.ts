import { defineVitestProject } from '@nuxt/test-utils/config'
import { defineConfig } from 'vitest/config'

const integration = {
  include: ['tests/integration/**/*.test.ts'],
  environment: 'node',
  globalSetup: ['tests/setup/global-db.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
}

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node' } },
      { test: { ...integration, name: 'pglite', env: { TEST_DB: 'pglite' } } },
      { test: { ...integration, name: 'postgres', env: { TEST_DB: 'postgres' } } },
      await defineVitestProject({
        // global-db: the migrated PGlite template that tests/factories/realRouter.ts loads per file
        test: { name: 'nuxt', include: ['tests/nuxt/**/*.test.ts'], environment: 'nuxt', globalSetup: ['tests/setup/global-db.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
      }),
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/e2e/global-server.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
    coverage: {
      provider: 'v8',
      include: ['server/**/*.ts'],
      exclude: ['server/generated/**'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 85, statements: 85 },
    },
  },
})
