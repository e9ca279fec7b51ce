// https://nuxt.com/docs/api/configuration/nuxt-config
import { fileURLToPath } from 'node:url'

export default defineNuxtConfig({
  modules: ['@pinia/nuxt', '@nuxt/eslint'],
  devtools: { enabled: false },
  app: {
    head: {
      htmlAttrs: { lang: 'en' },
      title: 'TaskTracker Pro',
      meta: [
        { name: 'viewport', content: 'width=device-width, initial-scale=1' },
        { name: 'description', content: 'Real-time collaborative task tracker' },
      ],
    },
  },
  css: ['~/assets/css/main.css'],
  srcDir: '.',
  // trpc-nuxt 2 ships untranspiled `#imports` references and is not a Nuxt module.
  build: { transpile: ['trpc-nuxt'] },
  compatibilityDate: '2025-07-15',
  nitro: {
    experimental: { websocket: true, tasks: true },
    // Every minute: digest:send acts in the minutes the runtime DIGEST_CRON names (the cron here is
    // fixed at build time); email:drain is the outbox's safety net. See docs/email.md.
    scheduledTasks: { '* * * * *': ['digest:send', 'email:drain'] },
    // Committed SQL migrations, applied by server/plugins/database.ts at start.
    serverAssets: [{ baseName: 'migrations', dir: fileURLToPath(new URL('./prisma/migrations', import.meta.url)) }],
    routeRules: {
      '/**': { headers: { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'strict-origin-when-cross-origin', 'X-Frame-Options': 'DENY' } },
    },
    // PGlite loads its WASM and data files relative to its own module: keep it (and Prisma's
    // generated runtime helpers) as real node_modules files in .output instead of bundling them.
    externals: { external: ['@electric-sql/pglite', 'pglite-prisma-adapter', '@node-rs/argon2'] },
  },
  vite: { optimizeDeps: { include: ['superjson', 'markdown-it', 'fractional-indexing', 'diff-match-patch'] } },
  typescript: { strict: true },
  telemetry: false,
  eslint: { config: { stylistic: true } },
})
