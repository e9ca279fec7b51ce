// One push message as an HTTP request: encrypted by the web-push library (RFC 8291 aes128gcm) and
// authorized by a VAPID JWT (RFC 8292) signed once per push service and reused while valid.
import webpush from 'web-push'
import type { PushJob } from './sender'
import type { VapidKeys } from './vapid'

/** How long a VAPID JWT is valid (RFC 8292 allows up to 24 h); one is signed per push service and reused. */
const VAPID_JWT_LIFETIME_S = 12 * 3600

/** The VAPID Authorization headers of one sender, per push service. */
export class VapidAuthorization {
  /** audience (push service origin) → Authorization header and until when it may be reused */
  private readonly headers = new Map<string, { key: string, value: string, until: number }>()

  constructor(private readonly now: () => number) {}

  /** The VAPID Authorization header for the push service of `endpoint`, signed once and reused while valid. */
  header(endpoint: string, keys: VapidKeys): string {
    const audience = new URL(endpoint).origin
    const now = this.now()
    const cached = this.headers.get(audience)
    if (cached && cached.key === keys.publicKey && cached.until > now) return cached.value
    const expiration = Math.floor(now / 1000) + VAPID_JWT_LIFETIME_S
    const value = webpush.getVapidHeaders(audience, keys.subject, keys.publicKey, keys.privateKey, 'aes128gcm', expiration).Authorization
    // Renewed an hour before it expires, so a message in flight never carries an expired token.
    this.headers.set(audience, { key: keys.publicKey, value, until: now + (VAPID_JWT_LIFETIME_S - 3600) * 1000 })
    return value
  }
}

/** The encrypted body and headers that deliver `job`, without Authorization (see {@link VapidAuthorization}). */
export function pushRequest(job: PushJob, defaultTtlSeconds: number): { headers: Record<string, string>, body: Uint8Array<ArrayBuffer> } {
  const details = webpush.generateRequestDetails(
    { endpoint: job.endpoint, keys: { p256dh: job.p256dh, auth: job.auth } },
    JSON.stringify(job.payload),
    {
      // No vapidDetails: the Authorization header comes from a JWT signed once per push service
      // (signing one per message would cost more than the encryption).
      contentEncoding: 'aes128gcm',
      TTL: job.ttlSeconds ?? defaultTtlSeconds,
      urgency: job.urgency ?? 'normal',
      ...(job.topic ? { topic: job.topic } : {}),
    },
  )
  return {
    headers: Object.fromEntries(Object.entries(details.headers).map(([k, v]) => [k, String(v)])),
    body: details.body as Uint8Array<ArrayBuffer>,
  }
}
