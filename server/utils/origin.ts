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
