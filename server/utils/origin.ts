import { getHeader, type H3Event } from 'h3'

/**
 * An origin as browsers send it, `scheme://host[:port]`, lower case, default port dropped
 * (`https://App.example.com:443/` → `https://app.example.com`); null for anything that is not an
 * http(s) origin (`null`, `file://…`, garbage).
 */
export function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value.trim())
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
    return url.origin
  }
  catch {
    return null
  }
}

/**
 * Whether a browser's Origin is one of ours: equal in scheme, host and port to an entry of
 * `allowedOrigins` (PUBLIC_ORIGIN and ALLOWED_ORIGINS, see env.ts). The request's own Host header is
 * never trusted for this: a client (or a misconfigured proxy) chooses it, so it proves nothing.
 */
export function isAllowedOrigin(origin: string, allowedOrigins: string[]): boolean {
  const normalized = normalizeOrigin(origin)
  return normalized !== null && allowedOrigins.some(allowed => normalizeOrigin(allowed) === normalized)
}

/**
 * Cross-site request forgery guard for mutations: browsers always send Origin on POST, so a POST whose
 * Origin is not an allowed origin comes from another site (or the same host over another scheme or
 * port). Requests without Origin (internal services, curl) are not browser-initiated and pass; they
 * still need a token or cookie.
 */
export function isForeignOrigin(event: H3Event, allowedOrigins: string[]): boolean {
  const origin = getHeader(event, 'origin')
  if (!origin || event.method !== 'POST') return false
  return !isAllowedOrigin(origin, allowedOrigins)
}

/**
 * Cross-site WebSocket hijacking guard for the upgrade (a GET, which isForeignOrigin lets through):
 * browsers always send Origin on an upgrade, and a page of another site must not ride on our session
 * cookie. An allowed origin passes; clients without Origin (services, tests) are not browsers and
 * pass (they still need a token or cookie).
 */
export function isAllowedUpgradeOrigin(origin: string | null | undefined, allowedOrigins: string[]): boolean {
  if (!origin) return true
  return isAllowedOrigin(origin, allowedOrigins)
}
