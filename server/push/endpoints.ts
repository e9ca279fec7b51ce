// Which push endpoints the server will ever send to. A subscription's endpoint is a URL the client
// chooses, and the server POSTs to it: without this check the app would make requests to any
// address for anyone who can sign up (SSRF). Only https: URLs on the hosts of the public push
// services pass, plus the origins of PUSH_ENDPOINT_ALLOWLIST (tests, self-hosted push services).
import { normalizeOrigin } from '../utils/origin'

/** Hosts of the public Web Push services: exact names, and suffixes (a leading dot) for subdomains. */
export const PUSH_SERVICE_HOSTS: readonly string[] = [
  // Google (Chrome, Edge on Android, Opera, Samsung Internet…)
  'fcm.googleapis.com',
  // Mozilla (Firefox): updates.push.services.mozilla.com and regional hosts
  '.push.services.mozilla.com',
  // Microsoft (Edge on Windows): wns2-*.notify.windows.com
  '.notify.windows.com',
  // Apple (Safari 16+ and iOS/iPadOS 16.4+ home-screen apps)
  'web.push.apple.com',
  '.push.apple.com',
]

function hostMatches(hostname: string, pattern: string): boolean {
  return pattern.startsWith('.') ? hostname.endsWith(pattern) && hostname.length > pattern.length : hostname === pattern
}

/**
 * Whether `endpoint` may be stored and sent to: an https: URL without credentials on a public push
 * service's host (default port), or a URL whose origin is in `extraOrigins`.
 */
export function isAllowedPushEndpoint(endpoint: string, extraOrigins: readonly string[]): boolean {
  let url: URL
  try {
    url = new URL(endpoint)
  }
  catch {
    return false
  }
  if (url.username || url.password) return false
  const origin = normalizeOrigin(url.href)
  if (origin && extraOrigins.includes(origin)) return true
  if (url.protocol !== 'https:' || url.port !== '') return false
  const hostname = url.hostname.toLowerCase()
  return PUSH_SERVICE_HOSTS.some(pattern => hostMatches(hostname, pattern))
}
