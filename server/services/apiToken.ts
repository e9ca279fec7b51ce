import type { ApiTokenCreateInput } from '../../shared/schemas/auth'
import { revokeSockets } from '../realtime/revocation'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { notFound } from './errors'
import { generateToken, hashToken, sessionUserSelect, type SessionUser } from './session'

/** Personal API tokens look like `ttp_<32 base32 chars>`; only the SHA-256 of the whole string is stored. */
export const API_TOKEN_PREFIX = 'ttp_'
const DAY = 24 * 60 * 60 * 1000

const tokenSelect = { id: true, name: true, prefix: true, expiresAt: true, lastUsedAt: true, createdAt: true } as const

export async function createApiToken(db: Db, userId: string, input: ApiTokenCreateInput) {
  const token = API_TOKEN_PREFIX + generateToken()
  const row = await db.apiToken.create({
    data: {
      id: newId(),
      userId,
      name: input.name,
      tokenHash: hashToken(token),
      prefix: token.slice(0, API_TOKEN_PREFIX.length + 6),
      expiresAt: input.expiresInDays === null ? null : new Date(Date.now() + input.expiresInDays * DAY),
    },
    select: tokenSelect,
  })
  return { ...row, token }
}

export function listApiTokens(db: Db, userId: string) {
  return db.apiToken.findMany({
    where: { userId, revokedAt: null },
    select: tokenSelect,
    orderBy: { createdAt: 'desc' },
  })
}

export async function revokeApiToken(db: Db, userId: string, id: string) {
  const { count } = await db.apiToken.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } })
  if (count === 0) throw notFound('API token', id)
  // Its open sockets (and those of tickets it minted) close on every instance.
  revokeSockets({ apiTokenId: id })
}

/** Whether an API token still signs in (not revoked, not expired): the sockets' periodic re-check. */
export async function liveApiTokenIds(db: DbTx, ids: string[], now = new Date()): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db.apiToken.findMany({
    where: { id: { in: ids }, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    select: { id: true },
  })
  return new Set(rows.map(r => r.id))
}

/** The user a bearer token authenticates, or null for an unknown, revoked or expired token. */
export async function authenticateApiToken(db: Db, token: string): Promise<SessionUser | null> {
  return (await authenticateApiTokenWithId(db, token))?.user ?? null
}

/** Like {@link authenticateApiToken}, with the token's id (sockets remember it, to close when it is revoked). */
export async function authenticateApiTokenWithId(db: Db, token: string): Promise<{ user: SessionUser, tokenId: string } | null> {
  if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 100) return null
  const row = await db.apiToken.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { id: true, revokedAt: true, expiresAt: true, lastUsedAt: true, user: { select: sessionUserSelect } },
  })
  if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return null
  // Written at most once a minute per token: tokens used by busy services must not write on every call.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } })
  }
  return { user: row.user, tokenId: row.id }
}
