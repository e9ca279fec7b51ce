import type { Env } from './env'

/** One year, subdomains included; `preload` is left to the operator (it is hard to undo). */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains'

/** Whether responses get HSTS: only when the app is reached over https (decided at start, not at build). */
export function wantsHsts(env: Pick<Env, 'PUBLIC_ORIGIN'>): boolean {
  return env.PUBLIC_ORIGIN.startsWith('https://')
}

/**
 * The WebSocket origins a page may connect to: the ws(s) form of the public origin and of every
 * allowed origin (the socket lives at the page's own origin). Browsers that implement CSP 3 already
 * match ws(s) under 'self'; older ones need them listed.
 */
export function socketOrigins(env: Pick<Env, 'PUBLIC_ORIGIN' | 'allowedOrigins'>): string[] {
  const origins = new Set<string>()
  for (const origin of [env.PUBLIC_ORIGIN, ...env.allowedOrigins]) {
    try {
      const url = new URL(origin)
      // CSP host-sources have no IPv6 literals ('ws://[::1]:3000' is reported invalid); 'self' covers them.
      if (url.hostname.startsWith('[')) continue
      if (url.protocol === 'https:' || url.protocol === 'http:') origins.add(`${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}`)
    }
    catch {
      // not a URL (env validation reports PUBLIC_ORIGIN; a stray ALLOWED_ORIGINS entry is skipped)
    }
  }
  return [...origins]
}
