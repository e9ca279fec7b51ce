// WebSocket tickets: short-lived JWTs (HS256, `jose`) that authenticate a socket through
// `connectionParams.token` where the upgrade request cannot carry the session cookie (another
// origin, a native client). They are accepted on the socket only, never as an HTTP Bearer.
import { randomBytes, randomUUID } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import type { DbTx } from '../utils/db'
import { useEnv, type Env } from '../utils/env'
import { logger } from '../utils/logger'
import { recentRevocations } from '../realtime/revocation'
import { sessionUserSelect, type SessionUser } from './session'

export const WS_TICKET_AUDIENCE = 'tasktracker:ws'
export const WS_TICKET_ISSUER = 'tasktracker'
/** `typ` header: a JWT signed with the same secret for another purpose is not a ticket. */
export const WS_TICKET_TYPE = 'tt-ws-ticket+jwt'
export const WS_TICKET_LIFETIME_S = 60
/** Instances' clocks may differ a little; a ticket is accepted this long past its expiry. */
const CLOCK_TOLERANCE_S = 5
/** Tickets are short (the user's row they carry is at most ~600 bytes); anything much longer is not one and is not worth an HMAC. */
const MAX_TICKET_LENGTH = 2_048

export interface WsTicket {
  ticket: string
  expiresAt: Date
}

/**
 * The credential a ticket was minted with: its sockets live only as long as that session (`sid`) or
 * API token (`tid`) does, so signing out or revoking the token closes them too.
 */
export interface TicketBinding {
  sessionId?: string
  apiTokenId?: string
}

export interface TicketClaims extends TicketBinding {
  userId: string
  /** The user's row as it was when the ticket was minted (`usr` claim): the socket needs no read. */
  user?: SessionUser
}

/** What a socket needs of its user, carried in the `usr` claim (the id is `sub`). */
type UserClaim = Omit<SessionUser, 'id'>

const STATUSES: ReadonlySet<string> = new Set(['AVAILABLE', 'AWAY', 'DND'])

function userOfClaim(userId: string, value: unknown): SessionUser | undefined {
  if (!value || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  const str = (x: unknown) => typeof x === 'string' && x.length <= 320
  if (!str(v.email) || !str(v.username) || !str(v.name) || !str(v.timezone) || typeof v.status !== 'string' || !STATUSES.has(v.status)) return undefined
  return { id: userId, email: v.email as string, username: v.username as string, name: v.name as string, status: v.status as SessionUser['status'], timezone: v.timezone as string }
}

/**
 * A ticket for `userId`. With `user` (its row), the ticket carries it, and a socket opens without a
 * database read (see {@link authenticateWsTicketWithBinding}).
 */
export async function mintWsTicket(secret: Uint8Array, userId: string, now: Date = new Date(), binding: TicketBinding = {}, user?: SessionUser): Promise<WsTicket> {
  const issuedAt = Math.floor(now.getTime() / 1000)
  const expires = issuedAt + WS_TICKET_LIFETIME_S
  const claims: Record<string, string | UserClaim> = {}
  if (binding.sessionId) claims.sid = binding.sessionId
  if (binding.apiTokenId) claims.tid = binding.apiTokenId
  if (user && user.id === userId) claims.usr = { email: user.email, username: user.username, name: user.name, status: user.status, timezone: user.timezone }
  const ticket = await new SignJWT(claims)
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
  return (await verifyWsTicketClaims(secret, ticket, now))?.userId ?? null
}

/** Like {@link verifyWsTicket}, with the credential the ticket is bound to (`sid` / `tid`). */
export async function verifyWsTicketClaims(secret: Uint8Array, ticket: string, now: Date = new Date()): Promise<TicketClaims | null> {
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
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) return null
    const claim = (name: string) => {
      const value = payload[name]
      return typeof value === 'string' && value.length > 0 && value.length <= 128 ? value : undefined
    }
    if ((payload.sid !== undefined && !claim('sid')) || (payload.tid !== undefined && !claim('tid'))) return null
    return { userId: payload.sub, sessionId: claim('sid'), apiTokenId: claim('tid'), user: userOfClaim(payload.sub, payload.usr) }
  }
  catch {
    return null
  }
}

/** Name of the generated signing key in the AppSecret table. */
export const WS_TICKET_SECRET_NAME = 'ws-ticket-hs256'

/**
 * The app secret called `name`: generated and stored on first use, and from then on the stored one
 * (`ON CONFLICT DO NOTHING`, then read): every instance on the database gets the same value.
 */
export async function getOrCreateAppSecret(db: DbTx, name: string, generate: () => string = () => randomBytes(32).toString('base64url')): Promise<string> {
  await db.appSecret.createMany({ data: [{ name, value: generate() }], skipDuplicates: true })
  const { value } = await db.appSecret.findUniqueOrThrow({ where: { name }, select: { value: true } })
  return value
}

type SecretEnv = Pick<Env, 'AUTH_SECRET'>

/**
 * The key tickets are signed with: `AUTH_SECRET` when set; otherwise one generated on first use and
 * kept in the database (so a ticket minted on one instance opens a socket on any other). Read once
 * per process; a failed read is retried on the next call.
 */
export class AuthSecretSource {
  private current: Promise<string> | null = null

  constructor(private env: () => SecretEnv, private load: (db: DbTx) => Promise<string>) {}

  /** The key; `db` is where a generated one is kept (the app's database). */
  async get(db: DbTx): Promise<Uint8Array> {
    return new TextEncoder().encode(await this.secret(db))
  }

  private secret(db: DbTx): Promise<string> {
    const { AUTH_SECRET } = this.env()
    if (AUTH_SECRET) return Promise.resolve(AUTH_SECRET)
    if (!this.current) {
      const loading = this.load(db)
      this.current = loading
      loading.catch((error: Error) => {
        if (this.current === loading) this.current = null
        logger.error('reading the WebSocket ticket key from the database failed; tickets cannot be minted or checked until it answers', { message: error.message })
      })
    }
    return this.current
  }
}

/** The app's secret source: AUTH_SECRET, or the key kept in the app's database. */
export const authSecrets = new AuthSecretSource(useEnv, db => getOrCreateAppSecret(db, WS_TICKET_SECRET_NAME))

/** A ticket for `userId` (carrying `user`, its row, when given), valid for {@link WS_TICKET_LIFETIME_S} seconds on any instance sharing the secret. */
export async function createWsTicket(db: DbTx, userId: string, binding: TicketBinding = {}, user?: SessionUser): Promise<WsTicket> {
  return mintWsTicket(await authSecrets.get(db), userId, new Date(), binding, user)
}

/** The user a ticket authenticates, or null for anything but a valid ticket of an existing user. */
export async function authenticateWsTicket(db: DbTx, ticket: string): Promise<SessionUser | null> {
  return (await authenticateWsTicketWithBinding(db, ticket))?.user ?? null
}

/**
 * The user a ticket authenticates and the credential it is bound to; null for anything but a valid
 * ticket of an existing user whose binding session or token still signs in (a ticket minted just
 * before sign-out opens nothing).
 *
 * A ticket carrying its user's row is accepted without a database read unless the recent
 * revocations (`recentRevocations`, fed by the revocation bus of every instance, kept for longer
 * than a ticket lives) name its session or token — then it is refused — or its user (a password
 * change or removal: only the database knows which sessions survived) — then it is checked as
 * below. The socket registry's periodic re-check closes what a lost bus message let through, as
 * for every socket. Otherwise (a ticket without `usr`) the binding is read with its user.
 */
export async function authenticateWsTicketWithBinding(db: DbTx, ticket: string): Promise<{ user: SessionUser, binding: TicketBinding } | null> {
  let secret: Uint8Array
  try {
    secret = await authSecrets.get(db)
  }
  catch {
    return null
  }
  const claims = await verifyWsTicketClaims(secret, ticket)
  if (!claims) return null
  const binding = { sessionId: claims.sessionId, apiTokenId: claims.apiTokenId }
  if (claims.user) {
    const verdict = recentRevocations().verdict(claims)
    if (verdict === 'revoked') return null
    if (verdict === 'clear') return { user: claims.user, binding }
  }
  const now = new Date()
  // One round trip: the binding credential with its user (a connection storm of ticket sockets
  // costs one read each, not two).
  if (claims.sessionId) {
    const session = await db.session.findUnique({ where: { id: claims.sessionId }, select: { userId: true, expiresAt: true, user: { select: sessionUserSelect } } })
    if (!session || session.userId !== claims.userId || session.expiresAt <= now) return null
    if (claims.apiTokenId) return bindToken(db, claims.apiTokenId, claims.userId, now, session.user, binding)
    return { user: session.user, binding }
  }
  if (claims.apiTokenId) return bindToken(db, claims.apiTokenId, claims.userId, now, null, binding)
  const user = await db.user.findUnique({ where: { id: claims.userId }, select: sessionUserSelect })
  return user ? { user, binding } : null
}

async function bindToken(db: DbTx, tokenId: string, userId: string, now: Date, known: SessionUser | null, binding: TicketBinding): Promise<{ user: SessionUser, binding: TicketBinding } | null> {
  const token = await db.apiToken.findUnique({ where: { id: tokenId }, select: { userId: true, revokedAt: true, expiresAt: true, user: { select: sessionUserSelect } } })
  if (!token || token.userId !== userId || token.revokedAt || (token.expiresAt && token.expiresAt <= now)) return null
  return { user: known ?? token.user, binding }
}
