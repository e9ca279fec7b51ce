// WebSocket tickets: short-lived JWTs (HS256, `jose`) that authenticate a socket through
// `connectionParams.token` where the upgrade request cannot carry the session cookie (another
// origin, a native client). They are accepted on the socket only, never as an HTTP Bearer.
import { randomBytes, randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { jwtVerify, SignJWT } from 'jose'
import type { DbTx } from '../utils/db'
import { useEnv, type Env } from '../utils/env'
import { logger } from '../utils/logger'
import { sessionUserSelect, type SessionUser } from './session'

export const WS_TICKET_AUDIENCE = 'tasktracker:ws'
export const WS_TICKET_ISSUER = 'tasktracker'
/** `typ` header: a JWT signed with the same secret for another purpose is not a ticket. */
export const WS_TICKET_TYPE = 'tt-ws-ticket+jwt'
export const WS_TICKET_LIFETIME_S = 60
/** Instances' clocks may differ a little; a ticket is accepted this long past its expiry. */
const CLOCK_TOLERANCE_S = 5
/** Tickets are short; anything much longer is not one and is not worth an HMAC. */
const MAX_TICKET_LENGTH = 1_024

export interface WsTicket {
  ticket: string
  expiresAt: Date
}

export async function mintWsTicket(secret: Uint8Array, userId: string, now: Date = new Date()): Promise<WsTicket> {
  const issuedAt = Math.floor(now.getTime() / 1000)
  const expires = issuedAt + WS_TICKET_LIFETIME_S
  const ticket = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: WS_TICKET_TYPE })
    .setSubject(userId)
    .setAudience(WS_TICKET_AUDIENCE)
    .setIssuer(WS_TICKET_ISSUER)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(expires)
    .sign(secret)
  return { ticket, expiresAt: new Date(expires * 1000) }
}

/**
 * The user id a ticket was minted for, or null when it is not a valid ticket: malformed, another
 * algorithm, bad signature, wrong audience, issuer or type, expired, or claiming a longer life
 * than tickets get. Never throws.
 */
export async function verifyWsTicket(secret: Uint8Array, ticket: string, now: Date = new Date()): Promise<string | null> {
  if (typeof ticket !== 'string' || ticket.length > MAX_TICKET_LENGTH) return null
  try {
    const { payload } = await jwtVerify(ticket, secret, {
      algorithms: ['HS256'],
      typ: WS_TICKET_TYPE,
      audience: WS_TICKET_AUDIENCE,
      issuer: WS_TICKET_ISSUER,
      requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      maxTokenAge: WS_TICKET_LIFETIME_S + CLOCK_TOLERANCE_S,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: now,
    })
    // Only this app signs tickets, but a longer-lived one is not one it would have minted.
    if (payload.exp! - payload.iat! > WS_TICKET_LIFETIME_S) return null
    return typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : null
  }
  catch {
    return null
  }
}

/** Redis key holding the generated secret all instances share when AUTH_SECRET is unset. */
export const AUTH_SECRET_REDIS_KEY = 'tt:auth-secret'
/** How often an instance re-checks the shared secret (it re-seeds it when Redis lost it). */
const RESYNC_MS = 60_000

/**
 * Stores `candidate` under {@link AUTH_SECRET_REDIS_KEY} unless a secret is there already, and
 * returns whichever is there: the first instance to ask decides, every other one adopts it.
 */
export async function shareSecretThroughRedis(url: string, candidate: string): Promise<string> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: `tt-auth-secret-${process.pid}`,
    connectTimeout: 5_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.set(AUTH_SECRET_REDIS_KEY, candidate, 'NX')
    const shared = await redis.get(AUTH_SECRET_REDIS_KEY)
    if (!shared || shared.length < 32) throw new Error(`${AUTH_SECRET_REDIS_KEY} in Redis is missing or shorter than 32 characters`)
    return shared
  }
  finally {
    redis.disconnect()
  }
}

type SecretEnv = Pick<Env, 'AUTH_SECRET' | 'REDIS_URL' | 'NODE_ENV'>

/**
 * The key tickets are signed with: `AUTH_SECRET` when set; otherwise a random one, shared through
 * Redis with `REDIS_URL` (so a ticket minted on one instance opens a socket on any other), else
 * kept in this process only. Resolved on first use; a failed Redis lookup is retried on the next.
 */
export class AuthSecretSource {
  private current: { secret: Promise<string>, checkedAt: number } | null = null
  private warned = false

  constructor(private env: () => SecretEnv, private now: () => number = Date.now) {}

  async get(): Promise<Uint8Array> {
    return new TextEncoder().encode(await this.secret())
  }

  private secret(): Promise<string> {
    const env = this.env()
    if (env.AUTH_SECRET) return Promise.resolve(env.AUTH_SECRET)
    if (!this.current) {
      this.warnOnce(env)
      const generated = randomBytes(32).toString('base64url')
      this.remember(env.REDIS_URL ? shareSecretThroughRedis(env.REDIS_URL, generated) : Promise.resolve(generated))
    }
    else if (env.REDIS_URL && this.now() - this.current.checkedAt >= RESYNC_MS) {
      // Redis without persistence forgets the key when it restarts; instances started after that
      // would pick a new one. Re-seeding with ours (NX) and adopting what is there converges them.
      const url = env.REDIS_URL
      const previous = this.current.secret
      this.current.checkedAt = this.now()
      previous.then(secret => shareSecretThroughRedis(url, secret)).then((shared) => {
        if (this.current?.secret === previous) this.current = { secret: Promise.resolve(shared), checkedAt: this.now() }
      }, (error: Error) => {
        logger.error('re-checking the shared WebSocket ticket secret in Redis failed; keeping the current one', { message: error.message })
      })
    }
    return this.current!.secret
  }

  private remember(secret: Promise<string>) {
    const entry = { secret, checkedAt: this.now() }
    this.current = entry
    secret.catch((error: Error) => {
      if (this.current === entry) this.current = null
      logger.error('reading the shared WebSocket ticket secret from Redis failed; tickets cannot be minted or checked until it answers', { message: error.message })
    })
  }

  private warnOnce(env: SecretEnv) {
    if (this.warned || env.NODE_ENV !== 'production') return
    this.warned = true
    logger.warn(env.REDIS_URL
      ? 'AUTH_SECRET is unset: WebSocket tickets are signed with a generated secret shared through Redis (tt:auth-secret); set AUTH_SECRET to keep tickets valid across a Redis restart'
      : 'AUTH_SECRET is unset: WebSocket tickets are signed with a secret generated by this process; a ticket minted by another instance is refused. Set AUTH_SECRET (32+ characters) when running several instances')
  }
}

/** The app's secret source, configured from the environment. */
export const authSecrets = new AuthSecretSource(useEnv)

/** A ticket for `userId`, valid for {@link WS_TICKET_LIFETIME_S} seconds on any instance sharing the secret. */
export async function createWsTicket(userId: string): Promise<WsTicket> {
  return mintWsTicket(await authSecrets.get(), userId)
}

/** The user a ticket authenticates, or null for anything but a valid ticket of an existing user. */
export async function authenticateWsTicket(db: DbTx, ticket: string): Promise<SessionUser | null> {
  let secret: Uint8Array
  try {
    secret = await authSecrets.get()
  }
  catch {
    return null
  }
  const userId = await verifyWsTicket(secret, ticket)
  if (!userId) return null
  return db.user.findUnique({ where: { id: userId }, select: sessionUserSelect })
}
