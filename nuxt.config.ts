// https://nuxt.com/docs/api/configuration/nuxt-config
import { fileURLToPath } from 'node:url'

// `nuxt dev` serves Vite's client, which needs eval and its own HMR socket; a production build gets neither.
const dev = process.env.NODE_ENV === 'development'
/** A CSP keyword source, quotes included: kw('self') → 'self' */
const kw = (word: string) => `'${word}'`
/** --bg-elev of assets/css/main.css, light and dark: the top bar's colour. */
const THEME_LIGHT = '#ffffff'
const THEME_DARK = '#191a1d'

export default defineNuxtConfig({
  modules: ['@pinia/nuxt', '@nuxt/eslint', 'nuxt-security', '@vite-pwa/nuxt'],
  devtools: { enabled: false },
  app: {
    head: {
      htmlAttrs: { lang: 'en' },
      title: 'TaskTracker Pro',
      meta: [
        { name: 'viewport', content: 'width=device-width, initial-scale=1' },
        { name: 'description', content: 'Real-time collaborative task tracker' },
        // The browser bar and the installed app's title bar follow the theme (docs/pwa.md).
        { name: 'theme-color', content: THEME_LIGHT, media: '(prefers-color-scheme: light)' },
        { name: 'theme-color', content: THEME_DARK, media: '(prefers-color-scheme: dark)' },
        { name: 'mobile-web-app-capable', content: 'yes' },
        { name: 'apple-mobile-web-app-status-bar-style', content: 'default' },
      ],
      link: [
        { rel: 'manifest', href: '/manifest.webmanifest' },
        { rel: 'icon', type: 'image/png', href: '/icons/icon-192.png' },
        { rel: 'apple-touch-icon', href: '/icons/apple-touch-icon.png' },
      ],
    },
  },
  css: ['~/assets/css/main.css'],
  srcDir: '.',
  // trpc-nuxt 2 ships untranspiled `#imports` references and is not a Nuxt module.
  build: { transpile: ['trpc-nuxt'] },
  routeRules: {
    // Hashed bundles never change under their name; Nuxt's public asset rule says so too (kept explicit).
    '/_nuxt/**': { headers: { 'cache-control': 'public, max-age=31536000, immutable' } },
    // The worker and manifest name no hash: the browser must revalidate them to see a new version.
    '/sw.js': { headers: { 'cache-control': 'no-cache' } },
    '/manifest.webmanifest': { headers: { 'cache-control': 'no-cache', 'content-type': 'application/manifest+json' } },
  },
  compatibilityDate: '2025-07-15',
  nitro: {
    // Pre-compressed .gz and .br next to every public asset; Nitro serves the one Accept-Encoding allows.
    compressPublicAssets: { gzip: true, brotli: true },
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
  // Pre-bundled so that the first page of `npm run dev` does not reload mid-hydration when Vite discovers
  // them: every bare import of the client code (`@trpc/server/observable` is the socket transport's).
  vite: { optimizeDeps: { include: ['superjson', 'markdown-it', 'fractional-indexing', 'diff-match-patch', '@trpc/client', '@trpc/server/observable', 'zod'] } },
  typescript: { strict: true },
  telemetry: false,
  eslint: { config: { stylistic: true } },
  // Installable app and service worker (docs/pwa.md, docs/decisions/0008-pwa.md). The worker is
  // service-worker/sw.ts; it is registered in production builds only (no devOptions).
  pwa: {
    strategies: 'injectManifest',
    srcDir: 'service-worker',
    filename: 'sw.ts',
    // A new version waits for the user's "Reload" (components/app/AppUpdateBanner.vue).
    registerType: 'prompt',
    injectRegister: false,
    client: { installPrompt: false, periodicSyncForUpdates: 3600 },
    manifest: {
      id: '/',
      name: 'TaskTracker Pro',
      short_name: 'TaskTracker',
      description: 'Real-time collaborative task tracker: boards, lists and notifications, also offline.',
      // The installed app opens on "My tasks" (issue 15); `id` stays '/', so installs keep their identity.
      start_url: '/my',
      scope: '/',
      display: 'standalone',
      orientation: 'any',
      theme_color: THEME_LIGHT,
      background_color: '#fbfbfc',
      icons: [
        { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
        { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
        { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
      ],
      shortcuts: [
        { name: 'My tasks', short_name: 'My tasks', description: 'Everything assigned to you, by due date', url: '/my', icons: [{ src: '/icons/icon-192.png', sizes: '192x192' }] },
        { name: 'Projects', short_name: 'Projects', description: 'Your projects and their boards', url: '/', icons: [{ src: '/icons/icon-192.png', sizes: '192x192' }] },
        { name: 'Notifications', short_name: 'Inbox', description: 'The notification center', url: '/?notifications=open', icons: [{ src: '/icons/icon-192.png', sizes: '192x192' }] },
      ],
    },
    injectManifest: {
      // The client bundles, icons and manifest; not the server-rendered pages (cached at runtime).
      globPatterns: ['_nuxt/**/*.{js,css}', 'icons/*.png', 'manifest.webmanifest'],
      maximumFileSizeToCacheInBytes: 3_000_000,
    },
    devOptions: { enabled: false },
  },
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
