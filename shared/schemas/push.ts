import { z } from 'zod'
import { idSchema, text } from './common'

/** base64url (no padding) of exactly `bytes` bytes */
function base64urlOf(bytes: number, what: string) {
  return text()
    .trim()
    .max(200, `${what} is too long`)
    .regex(/^[\w-]+={0,2}$/, `${what} must be base64url`)
    .refine(value => base64urlLength(value) === bytes, `${what} must be ${bytes} bytes`)
}

/** Decoded length of a base64url string (padding ignored). */
export function base64urlLength(value: string): number {
  const clean = value.replace(/=+$/, '')
  return Math.floor((clean.length * 3) / 4)
}

export const pushEndpointSchema = text().trim().min(1, 'Required').max(2048, 'Endpoint is too long').refine(value => URL.canParse(value), 'Endpoint must be a URL')

export const pushSubscribeInput = z.object({
  endpoint: pushEndpointSchema,
  keys: z.object({
    /** the browser's P-256 public key, uncompressed (65 bytes) */
    p256dh: base64urlOf(65, 'keys.p256dh'),
    /** the 16-byte auth secret */
    auth: base64urlOf(16, 'keys.auth'),
  }),
  userAgent: text().trim().max(300, 'Too long').nullish(),
})
export type PushSubscribeInput = z.infer<typeof pushSubscribeInput>

export const pushUnsubscribeInput = z.object({ endpoint: pushEndpointSchema })
export const pushListInput = z.object({ endpoint: pushEndpointSchema.nullish() }).nullish()
export const pushRemoveInput = z.object({ id: idSchema })

/** One device in Settings → Devices. */
export interface PushDevice {
  id: string
  /** a short name from the user agent ("Chrome on Android") */
  label: string
  userAgent: string | null
  /** the push service's host (fcm.googleapis.com …) */
  service: string
  createdAt: Date
  lastSuccessAt: Date | null
  failures: number
  /** the subscription of the browser that asked (it passed its endpoint) */
  thisDevice: boolean
}

/** What the service worker receives in a push event (JSON). */
export interface PushPayload {
  title: string
  body: string
  /** one per task (`task-<id>`), so a newer push replaces the shown one */
  tag: string
  /** where a click leads (same-origin path) */
  url: string
}

/** "Chrome on Android", "Firefox on Windows", "Safari on iOS"… from a user agent string. */
export function deviceLabel(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown browser'
  const ua = userAgent
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrome\/|CriOS\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : 'Browser'
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : null
  return os ? `${browser} on ${os}` : browser
}
