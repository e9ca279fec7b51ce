import { Cron } from 'croner'
import { z } from 'zod'
import { normalizeOrigin } from './origin'

const bool = z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  /** PostgreSQL connection string; unset = embedded PGlite under PGLITE_DIR */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://')
    .optional(),
  PGLITE_DIR: z.string().min(1).default('.data/pglite'),
  /** most PostgreSQL connections one instance opens (size max_connections for this × instances) */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).default(10),
  /** apply pending migrations (and the demo seed, if asked for), then exit 0: the one-off migrate task of a deploy */
  MIGRATE_ONLY: bool.default(false),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'REDIS_URL must start with redis:// or rediss://').optional(),
  PUBLIC_ORIGIN: z.url('PUBLIC_ORIGIN must be a URL such as https://tasks.example.com').default('http://localhost:3000'),
  /** more origins (comma-separated) whose pages may call the API and open sockets, next to PUBLIC_ORIGIN */
  ALLOWED_ORIGINS: z.string().optional(),
  /** production only: accept plain-http PUBLIC_ORIGIN / ALLOWED_ORIGINS on other hosts than loopback (TLS ends elsewhere, on a network you trust) */
  ALLOW_INSECURE_ORIGIN: bool.default(false),
  /** seed the demo workspace when the database has no users: auto = only on the embedded database */
  SEED_DEMO: z.enum(['auto', 'true', 'false']).default('auto'),
  /** honour X-Forwarded-For for the client IP (set when behind a reverse proxy) */
  TRUST_PROXY: bool.default(false),
  /** signs WebSocket tickets (HS256); unset = generated once and kept in the database (AppSecret) */
  AUTH_SECRET: z.string().min(32, 'AUTH_SECRET must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** json (one object per line, the production default) or pretty (readable lines, the default elsewhere) */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /** how long a presence entry outlives its last heartbeat (a crashed instance's users go offline after it) */
  PRESENCE_TTL_SECONDS: z.coerce.number().int().min(3).max(300).default(30),
  /** largest HTTP request body read (bytes); a bigger one is refused with 413 before it is parsed */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** tRPC calls over HTTP per user (per client address when signed out) and second, sustained; each call of a batch counts */
  HTTP_CALLS_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(30),
  /** tRPC calls over HTTP a user may make at once before HTTP_CALLS_PER_SECOND applies; over both = 429 */
  HTTP_CALL_BURST: z.coerce.number().int().min(1).max(1_000_000).default(120),
  /** most calls in one tRPC HTTP batch; a longer batch is refused with 400 */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(20),
  /** open WebSockets allowed per signed-in user (all instances) */
  WS_MAX_PER_USER: z.coerce.number().int().min(1).max(100_000).default(20),
  /** open WebSockets allowed per client address, signed in or not (all instances) */
  WS_MAX_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(200),
  /** sign-ups allowed per client address in REGISTER_LIMIT_WINDOW_SECONDS (each costs an argon2 hash) */
  REGISTER_LIMIT_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(5),
  REGISTER_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** open subscriptions over SSE (the fallback when WebSockets are blocked) allowed per signed-in user (all instances) */
  SSE_MAX_PER_USER: z.coerce.number().int().min(1).max(100_000).default(40),
  /** seconds a socket may stay open without authenticating before it is closed */
  WS_AUTH_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(5),
  // --- email (docs/email.md) ---
  /** smtp:// or smtps:// with the credentials in the URL; unset = .eml files under MAIL_DIR (development) or nothing sent (production) */
  SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s]+$/, 'SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465').optional(),
  /** the From of every email; unset = TaskTracker Pro <no-reply@the PUBLIC_ORIGIN host> */
  MAIL_FROM: z.string().trim().min(3).max(320).optional(),
  /** where emails are written as .eml files when SMTP_URL is unset (not in production) */
  MAIL_DIR: z.string().min(1).default('.data/mail'),
  /** when the digest task runs (5-field cron, server time); each run sends the digests whose hour has come */
  DIGEST_CRON: z.string().trim().default('0 * * * *').refine(isCron, 'DIGEST_CRON must be a 5-field cron expression such as "0 * * * *"'),
  /** a notification is emailed only if still unread this long after it happened */
  EMAIL_NOTIFY_DELAY_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(300),
  // --- web push (docs/push.md) ---
  /** VAPID key pair (base64url, uncompressed P-256 public key / 32-byte private key); unset = generated once and kept in the database (AppSecret) */
  VAPID_PUBLIC_KEY: z.string().trim().refine(v => base64urlBytes(v) === 65, 'VAPID_PUBLIC_KEY must be a base64url uncompressed P-256 public key (65 bytes), e.g. from npx web-push generate-vapid-keys').optional(),
  VAPID_PRIVATE_KEY: z.string().trim().refine(v => base64urlBytes(v) === 32, 'VAPID_PRIVATE_KEY must be a base64url P-256 private key (32 bytes)').optional(),
  /** contact the push services may use (mailto: or https:); unset = mailto:no-reply@the PUBLIC_ORIGIN host */
  VAPID_SUBJECT: z.string().trim().regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, 'VAPID_SUBJECT must be mailto:someone@example.com or an https:// URL').optional(),
  /** more push service origins (comma-separated, scheme://host[:port]) accepted as subscription endpoints, next to the public push services */
  PUSH_ENDPOINT_ALLOWLIST: z.string().optional(),
  // --- operations (docs/operations.md) ---
  /** bearer token that /api/metrics asks for; unset = no metrics endpoint (404) */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 32)').regex(/^\S+$/, 'METRICS_TOKEN must not contain spaces').optional(),
  /** on SIGTERM, open WebSockets are closed (1012) spread evenly over this many ms, so clients do not reconnect in one burst */
  SHUTDOWN_SPREAD_MS: z.coerce.number().int().min(0).max(60_000).default(3_000),
  /** on SIGTERM, the process exits after at most this many ms, even if a request or socket hangs */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
})

function base64urlBytes(value: string): number {
  return /^[\w-]+$/.test(value) ? Buffer.from(value, 'base64url').length : -1
}

function isCron(value: string): boolean {
  if (value.split(/\s+/).length !== 5) return false
  try {
    new Cron(value, { paused: true }).stop()
    return true
  }
  catch {
    return false
  }
}

export type Env = z.infer<typeof envSchema> & { allowedOrigins: string[], secureCookies: boolean, mailFrom: string, vapidSubject: string, pushEndpointOrigins: string[] }

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''))
  // Unset PUBLIC_ORIGIN follows the port the server listens on (PORT=4000 npm run dev just works).
  const port = cleaned.NUXT_PORT ?? cleaned.NITRO_PORT ?? cleaned.PORT
  if (!cleaned.PUBLIC_ORIGIN && port && /^\d{1,5}$/.test(port)) cleaned.PUBLIC_ORIGIN = `http://localhost:${port}`
  const result = envSchema.safeParse(cleaned)
  if (!result.success) {
    const issues = result.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; ')
    throw new Error(`Invalid configuration: ${issues}`)
  }
  const env = result.data
  const allowedOrigins = allowedOriginsOf(env)
  if (env.NODE_ENV === 'production') refuseInsecure(env, allowedOrigins)
  if (env.SHUTDOWN_SPREAD_MS >= env.SHUTDOWN_TIMEOUT_MS) {
    throw new Error('Invalid configuration: SHUTDOWN_SPREAD_MS must be less than SHUTDOWN_TIMEOUT_MS (sockets are closed within the spread, the process exits by the timeout)')
  }
  const mailFrom = env.MAIL_FROM ?? `TaskTracker Pro <no-reply@${new URL(env.PUBLIC_ORIGIN).hostname}>`
  if (Boolean(env.VAPID_PUBLIC_KEY) !== Boolean(env.VAPID_PRIVATE_KEY)) throw new Error('Invalid configuration: set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither (then a pair is generated and kept in the database)')
  const vapidSubject = env.VAPID_SUBJECT ?? `mailto:no-reply@${new URL(env.PUBLIC_ORIGIN).hostname}`
  return { ...env, allowedOrigins, secureCookies: env.PUBLIC_ORIGIN.startsWith('https://'), mailFrom, vapidSubject, pushEndpointOrigins: originList('PUSH_ENDPOINT_ALLOWLIST', env.PUSH_ENDPOINT_ALLOWLIST) }
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]']

/**
 * The origins whose pages may call the API and open sockets, normalized (`scheme://host[:port]`):
 * PUBLIC_ORIGIN, then ALLOWED_ORIGINS. In development a loopback PUBLIC_ORIGIN also allows the other
 * loopback names on the same scheme and port (http://127.0.0.1:3000 next to http://localhost:3000).
 */
function allowedOriginsOf(env: z.infer<typeof envSchema>): string[] {
  const origins: string[] = []
  const problems: string[] = []
  for (const entry of [env.PUBLIC_ORIGIN, ...(env.ALLOWED_ORIGINS ?? '').split(',')].map(o => o.trim()).filter(Boolean)) {
    const origin = normalizeOrigin(entry)
    if (origin) origins.push(origin)
    else problems.push(`ALLOWED_ORIGINS: "${entry}" is not an origin such as https://app.example.com`)
  }
  if (problems.length) throw new Error(`Invalid configuration: ${problems.join('; ')}`)
  const publicUrl = new URL(origins[0]!)
  if (env.NODE_ENV === 'development' && LOOPBACK_HOSTS.includes(publicUrl.hostname)) {
    for (const host of LOOPBACK_HOSTS) origins.push(`${publicUrl.protocol}//${host}${publicUrl.port ? `:${publicUrl.port}` : ''}`)
  }
  return [...new Set(origins)]
}

/**
 * Production refuses settings that would quietly weaken it: session cookies without Secure and
 * sockets over plain ws:// because an origin is http. Loopback origins stay allowed (the production
 * build on one machine: tests/e2e, benchmarks); anything else needs ALLOW_INSECURE_ORIGIN=true.
 * A short AUTH_SECRET is refused in every environment by the schema above.
 */
function refuseInsecure(env: z.infer<typeof envSchema>, origins: string[]) {
  if (env.ALLOW_INSECURE_ORIGIN) return
  const insecure = origins.filter((origin) => {
    const url = new URL(origin)
    return url.protocol === 'http:' && !LOOPBACK_HOSTS.includes(url.hostname)
  })
  if (insecure.length) {
    throw new Error(`Invalid configuration: ${insecure.join(', ')} is plain http in production; use https for PUBLIC_ORIGIN and ALLOWED_ORIGINS, or set ALLOW_INSECURE_ORIGIN=true if TLS ends in front of the app on a network you trust`)
  }
}

/** A comma-separated list of origins, normalized; any entry that is not an origin stops the start. */
function originList(name: string, value: string | undefined): string[] {
  const origins: string[] = []
  const problems: string[] = []
  for (const entry of (value ?? '').split(',').map(o => o.trim()).filter(Boolean)) {
    const origin = normalizeOrigin(entry)
    if (origin) origins.push(origin)
    else problems.push(`${name}: "${entry}" is not an origin such as https://push.example.com`)
  }
  if (problems.length) throw new Error(`Invalid configuration: ${problems.join('; ')}`)
  return [...new Set(origins)]
}

let cached: Env | undefined
export function useEnv(): Env {
  cached ??= parseEnv()
  return cached
}
