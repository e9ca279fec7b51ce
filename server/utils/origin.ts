import { getHeader, type H3Event } from 'h3'

/**
 * Cross-site request forgery guard for mutations: browsers always send Origin on POST, so a POST whose
 * Origin is neither this host nor an allowed origin comes from another site. Requests without Origin
 * (internal services, curl) are not browser-initiated and pass; they still need a token or cookie.
 */
export function isForeignOrigin(event: H3Event, allowedOrigins: string[]): boolean {
  const origin = getHeader(event, 'origin')
  if (!origin || event.method !== 'POST') return false
  if (allowedOrigins.includes(origin)) return false
  try {
    return new URL(origin).host !== getHeader(event, 'host')
  }
  catch {
    return true
  }
}

/**
 * Cross-site WebSocket hijacking guard for the upgrade (a GET, which isForeignOrigin lets through):
 * browsers always send Origin on an upgrade, and a page of another site must not ride on our session
 * cookie. Same host or an allowed origin passes; clients without Origin (services, tests) are not
 * browsers and pass (they still need a token or cookie).
 */
export function isAllowedUpgradeOrigin(headers: Headers, allowedOrigins: string[]): boolean {
  const origin = headers.get('origin')
  if (!origin) return true
  if (allowedOrigins.includes(origin.replace(/\/$/, ''))) return true
  try {
    return new URL(origin).host === headers.get('host')
  }
  catch {
    return false
  }
}
