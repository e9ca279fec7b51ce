// Sign-in and sign-up throttling after OWASP's "Slow down online guessing attacks with device
// cookies" (https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies):
// a browser that has signed in to an account gets a signed cookie for it; its failed attempts are
// limited per device, so an attacker guessing from elsewhere — who is limited per account, per
// address and per account+address — never locks the owner's known browser out.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { DbTx } from '../utils/db'
import { useEnv } from '../utils/env'
import { Limiter, type LimiterStore, type LimitSpec } from '../utils/rateLimit'
import { DomainError } from './errors'
import { getOrCreateAppSecret } from './wsTicket'
import { useServices } from '../container'

const MINUTE = 60

/** Sign-in budgets; every attempt takes a point before the password is checked (parallel guesses count too). */
export const SIGN_IN_LIMITS = {
  /** attempts per client address from clients without a device cookie, whatever the account */
  ip: { points: 20, durationSeconds: 15 * MINUTE, blockSeconds: 15 * MINUTE },
  /** attempts for one account from one address (untrusted clients); a success clears it */
  accountIp: { points: 5, durationSeconds: 60 * MINUTE, blockSeconds: 15 * MINUTE },
  /** attempts for one account from all clients without its device cookie; a success clears it */
  account: { points: 5, durationSeconds: 15 * MINUTE, blockSeconds: 15 * MINUTE },
  /** attempts from one trusted device; past it the device counts as untrusted until the block ends */
  device: { points: 5, durationSeconds: 15 * MINUTE, blockSeconds: 15 * MINUTE },
} satisfies Record<string, LimitSpec>

/** Sign-ups per client address (each costs an argon2 hash): REGISTER_LIMIT_PER_IP per REGISTER_LIMIT_WINDOW_SECONDS. */
export function registerLimit(env = useEnv()): LimitSpec {
  return { points: env.REGISTER_LIMIT_PER_IP, durationSeconds: env.REGISTER_LIMIT_WINDOW_SECONDS }
}

export const DEVICE_COOKIE = 'tt_device'
export const DEVICE_COOKIE_DAYS = 180
const DEVICE_COOKIE_VERSION = 'v1'
const DEVICE_SECRET_NAME = 'device-cookie-hmac'

export interface SignInLimits {
  ip: Limiter
  accountIp: Limiter
  account: Limiter
  device: Limiter
  register: Limiter
}

export function createSignInLimits(store: LimiterStore, register: LimitSpec = registerLimit()): SignInLimits {
  return {
    ip: Limiter.of(store, 'signin:ip', SIGN_IN_LIMITS.ip),
    accountIp: Limiter.of(store, 'signin:account-ip', SIGN_IN_LIMITS.accountIp),
    account: Limiter.of(store, 'signin:account', SIGN_IN_LIMITS.account),
    device: Limiter.of(store, 'signin:device', SIGN_IN_LIMITS.device),
    register: Limiter.of(store, 'register:ip', register),
  }
}

/** The installed limits (server/container.ts: in Redis with REDIS_URL, in process otherwise). */
export function signInLimits(): SignInLimits {
  return useServices().limits.signIn
}

/** "30 seconds", "1 minute", "15 minutes": when to try again, in words a person reads. */
export function retryIn(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`
  const minutes = Math.ceil(seconds / 60)
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}

/** TOO_MANY_REQUESTS saying what ran out and when to retry (`retryAfterSeconds` for clients); `or` offers another way. */
export function tooMany(what: string, seconds: number, or?: string): DomainError {
  return new DomainError('TOO_MANY_REQUESTS', `${what} Try again in ${retryIn(seconds)}${or ? `, or ${or}` : ''}.`, { retryAfterSeconds: seconds })
}

// --- device cookies -------------------------------------------------------------------------

/** The key device cookies are signed with: derived from AUTH_SECRET, or generated once and kept in the database. */
let deviceKey: Promise<Buffer> | null = null

function deviceSecret(db: DbTx): Promise<Buffer> {
  const { AUTH_SECRET } = useEnv()
  // A key of its own: a device cookie can never pass for a WebSocket ticket or the other way round.
  if (AUTH_SECRET) return Promise.resolve(createHmac('sha256', AUTH_SECRET).update('tasktracker device cookie').digest())
  if (!deviceKey) {
    const loading = getOrCreateAppSecret(db, DEVICE_SECRET_NAME).then(value => Buffer.from(value))
    deviceKey = loading
    loading.catch(() => {
      if (deviceKey === loading) deviceKey = null
    })
  }
  return deviceKey
}

function sign(key: Buffer, userId: string, nonce: string): string {
  return createHmac('sha256', key).update(`${DEVICE_COOKIE_VERSION}|${userId}|${nonce}`).digest('base64url')
}

export interface DeviceCookie {
  value: string
  expiresAt: Date
}

/** A new device cookie for `userId` (OWASP: LOGIN, NONCE, HMAC(LOGIN, NONCE)). */
export async function issueDeviceCookie(db: DbTx, userId: string, now = new Date()): Promise<DeviceCookie> {
  const nonce = randomBytes(16).toString('base64url')
  const value = [DEVICE_COOKIE_VERSION, userId, nonce, sign(await deviceSecret(db), userId, nonce)].join('.')
  return { value, expiresAt: new Date(now.getTime() + DEVICE_COOKIE_DAYS * 86_400_000) }
}

/** The device id (the cookie's nonce) when `cookie` is a valid device cookie of `userId`; null otherwise. */
export async function trustedDevice(db: DbTx, cookie: string | undefined, userId: string): Promise<string | null> {
  if (!cookie || cookie.length > 200) return null
  const [version, cookieUser, nonce, signature, ...rest] = cookie.split('.')
  if (rest.length || version !== DEVICE_COOKIE_VERSION || cookieUser !== userId || !nonce || !signature) return null
  const expected = Buffer.from(sign(await deviceSecret(db), userId, nonce))
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected) ? nonce : null
}
