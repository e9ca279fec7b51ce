// https://nuxt.com/docs/api/configuration/nuxt-config
import { fileURLToPath } from 'node:url'

// `nuxt dev` serves Vite's client, which needs eval and its own HMR socket; a production build gets neither.
const dev = process.env.NODE_ENV === 'development'
/** A CSP keyword source, quotes included: kw('self') → 'self' */
const kw = (word: string) => `'${word}'`

export default defineNuxtConfig({
  modules: ['@pinia/nuxt', '@nuxt/eslint', 'nuxt-security'],
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
    // PGlite loads its WASM and data files relative to its own module: keep it (and Prisma's
    // generated runtime helpers) as real node_modules files in .output instead of bundling them.
    externals: { external: ['@electric-sql/pglite', 'pglite-prisma-adapter', '@node-rs/argon2'] },
  },
  // Pre-bundled so that the first page of `npm run dev` does not reload mid-hydration when Vite discovers them.
  vite: { optimizeDeps: { include: ['superjson', 'markdown-it', 'fractional-indexing', 'diff-match-patch', '@trpc/client', 'zod'] } },
  typescript: { strict: true },
  telemetry: false,
  eslint: { config: { stylistic: true } },
  // Security headers (docs/decisions/0007-security-headers.md). The CSP goes on HTML pages with a fresh
  // nonce per response; server/plugins/securityHeaders.ts adds what depends on the deployment's
  // PUBLIC_ORIGIN at start (HSTS, the socket's ws(s) origins, upgrade-insecure-requests), because
  // one build runs behind http and https.
  security: {
    strict: false,
    nonce: true,
    headers: {
      contentSecurityPolicy: {
        'default-src': [kw('self')],
        'base-uri': [kw('none')],
        'object-src': [kw('none')],
        'frame-ancestors': [kw('none')],
        'frame-src': [kw('none')],
        'form-action': [kw('self')],
        // Nuxt's inline payload and entry scripts carry the nonce; 'strict-dynamic' lets the entry
        // load its chunks. Nothing else runs: no eval, no inline handlers.
        'script-src': [kw('self'), kw('strict-dynamic'), kw('nonce-{{nonce}}'), ...(dev ? [kw('unsafe-eval')] : [])],
        'script-src-attr': [kw('none')],
        // Vue style bindings render style attributes; CSS cannot run script, so styles stay inline-able.
        'style-src': [kw('self'), kw('unsafe-inline')],
        // Markdown images are limited to this origin and data: URLs (utils/markdown.ts).
        'img-src': [kw('self'), 'data:', 'blob:'],
        'font-src': [kw('self'), 'data:'],
        // 'self' plus the socket's ws(s) origin, added at start from PUBLIC_ORIGIN / ALLOWED_ORIGINS;
        // in dev Vite's HMR socket may be on another port.
        'connect-src': [kw('self'), ...(dev ? ['ws:', 'wss:'] : [])],
        'worker-src': [kw('self')],
        'manifest-src': [kw('self')],
        // Only behind https (set at start): on a plain-http deployment it would break every request.
        'upgrade-insecure-requests': false,
      },
      // HSTS is decided at start from PUBLIC_ORIGIN, not baked into the build.
      strictTransportSecurity: false,
      referrerPolicy: 'strict-origin-when-cross-origin',
      xFrameOptions: 'DENY',
      xContentTypeOptions: 'nosniff',
    },
    hidePoweredBy: true,
    // Each of these overlaps with what the app does itself: sign-in and socket limits live in
    // Redis (server/utils/rateLimit.ts), body and batch limits in the tRPC route, cross-site writes
    // are refused by its Origin check, and task text is escaped on output (an input filter would
    // mangle it). CORS stays as it was: same-origin only, no CORS headers.
    rateLimiter: false,
    requestSizeLimiter: false,
    xssValidator: false,
    csrf: false,
    corsHandler: false,
    allowedMethodsRestricter: false,
    removeLoggers: false,
  },
})
