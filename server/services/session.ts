// Sessions as the Lucia guide lays them out (https://lucia-auth.com/sessions/basic): the client holds
// a random token, the database only its SHA-256, expiry slides forward while the session is used.
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'
import { hash, randomBytes } from 'node:crypto'
import { revokeSockets } from '../realtime/revocation'
import type { DbTx } from '../utils/db'

export const SESSION_COOKIE = 'tt_session'
const DAY = 24 * 60 * 60 * 1000
export const SESSION_LIFETIME_MS = 30 * DAY
/** Extend the session when less than this is left. */
const RENEW_WITHIN_MS = 15 * DAY

export const sessionUserSelect = {
  id: true,
  email: true,
  username: true,
  name: true,
  status: true,
  timezone: true,
} as const

export interface SessionUser {
  id: string
  email: string
  username: string
  name: string
  status: 'AVAILABLE' | 'AWAY' | 'DND'
  timezone: string
}

export interface Session {
  id: string
  userId: string
  expiresAt: Date
}

export function generateToken(): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(20))
}

/** The token's SHA-256 in lower-case hex (the guide's `encodeHexLowerCase(sha256(…))`, with Node's native hash: a connection storm hashes thousands). */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex')
}

export async function createSession(db: DbTx, token: string, userId: string): Promise<Session> {
  const session = { id: hashToken(token), userId, expiresAt: new Date(Date.now() + SESSION_LIFETIME_MS) }
  await db.session.create({ data: session })
  return session
}

export interface ValidatedSession {
  session: Session
  user: SessionUser
  /** true when the expiry moved and the cookie should be sent again */
  renewed: boolean
}

export interface SessionRow {
  userId: string
  expiresAt: Date
  user: SessionUser
}

/** How a session row is read: one query by default; sockets share one per turn (`batchedSessionRow`). */
export type SessionRowReader = (db: DbTx, id: string) => Promise<SessionRow | null>

const readSessionRow: SessionRowReader = (db, id) => db.session.findUnique({ where: { id }, select: { userId: true, expiresAt: true, user: { select: sessionUserSelect } } })

export async function validateSessionToken(db: DbTx, token: string, read: SessionRowReader = readSessionRow): Promise<ValidatedSession | null> {
  if (!/^[a-z2-7]{32}$/.test(token)) return null
  const id = hashToken(token)
  const row = await read(db, id)
  if (!row) return null
  const now = Date.now()
  if (now >= row.expiresAt.getTime()) {
    await db.session.deleteMany({ where: { id } })
    return null
  }
  let renewed = false
  let expiresAt = row.expiresAt
  if (now >= expiresAt.getTime() - RENEW_WITHIN_MS) {
    expiresAt = new Date(now + SESSION_LIFETIME_MS)
    await db.session.update({ where: { id }, data: { expiresAt } })
    renewed = true
  }
  return { session: { id, userId: row.userId, expiresAt }, user: row.user, renewed }
}

/** Ends a session; its sockets (and those opened with tickets it minted) close on every instance. */
export async function invalidateSession(db: DbTx, sessionId: string): Promise<void> {
  await db.session.deleteMany({ where: { id: sessionId } })
  revokeSockets({ sessionId })
}

/** Ends every session of a user but `keepSessionId`; every socket of the user but that session's closes. */
export async function invalidateOtherSessions(db: DbTx, userId: string, keepSessionId: string | null): Promise<void> {
  await db.session.deleteMany({ where: { userId, ...(keepSessionId ? { id: { not: keepSessionId } } : {}) } })
  revokeSockets(keepSessionId ? { userId, exceptSessionId: keepSessionId } : { userId })
}

/** Which of these sessions still sign in (exist, not expired), without renewing them: the sockets' periodic re-check. */
export async function liveSessionIds(db: DbTx, ids: string[], now = new Date()): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db.session.findMany({ where: { id: { in: ids }, expiresAt: { gt: now } }, select: { id: true } })
  return new Set(rows.map(r => r.id))
}
