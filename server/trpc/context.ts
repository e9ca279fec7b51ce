import { authenticateApiTokenWithId } from '../services/apiToken'
import { authenticateWsTicketWithBinding } from '../services/wsTicket'
import { batchedSessionRow } from '../realtime/socketSessions'
import { SESSION_COOKIE, validateSessionToken, type Session, type SessionUser } from '../services/session'
import { useServices, type Services } from '../container'
import type { Db } from '../utils/db'
import type { Env } from '../utils/env'

export interface CookieOptions {
  expires?: Date
  maxAge?: number
}

/** Cookies of the current request/response; HTTP adapts h3, tests use a plain map. */
export interface CookieJar {
  get: (name: string) => string | undefined
  set: (name: string, value: string, opts: CookieOptions) => void
  delete: (name: string) => void
}

export interface ContextInput {
  db: Db
  env: Pick<Env, 'secureCookies'>
  cookies: CookieJar
  /** value of an `Authorization: Bearer …` header */
  bearer?: string
  /**
   * a WebSocket ticket (`auth.wsTicket`) from the socket's `connectionParams.token`; only a socket
   * context passes one, so a ticket never works as an HTTP Bearer
   */
  wsTicket?: string
  ip: string
  /** set for calls that arrive over the WebSocket (`/api/trpc-ws`): they are rate limited per user */
  socket?: boolean
  /** the services the call uses (buses, limiters, hubs); the installed ones (server/container.ts) unless given */
  services?: Services
}

/**
 * What signed the caller in, by id: a session, an API token, or a ticket bound to one of them (a
 * ticket minted without a binding has neither). A socket keeps it, to close when it is revoked.
 */
export interface Credential {
  sessionId?: string
  apiTokenId?: string
}

export interface Context extends ContextInput {
  services: Services
  user: SessionUser | null
  session: Session | null
  credential?: Credential | null
  setSessionCookie: (token: string, expiresAt: Date) => void
  clearSessionCookie: () => void
}

const noCookieChange = () => {}

/** Resolves who is calling: a WebSocket ticket, a personal API token, or a session cookie. Used by HTTP, WS and tests. */
export async function createContextInner(input: ContextInput): Promise<Context> {
  if (input.wsTicket) {
    const ticket = await authenticateWsTicketWithBinding(input.db, input.wsTicket)
    return contextOf(input, ticket?.user ?? null, null, ticket?.binding ?? null)
  }
  if (input.bearer) {
    const token = await authenticateApiTokenWithId(input.db, input.bearer)
    return contextOf(input, token?.user ?? null, null, token ? { apiTokenId: token.tokenId } : null)
  }
  const token = input.cookies.get(SESSION_COOKIE)
  if (!token) return contextOf(input, null, null, null)
  // Sockets of a connection storm share their session reads (one query per turn of the event loop).
  const result = await validateSessionToken(input.db, token, input.socket ? batchedSessionRow : undefined)
  const ctx = contextOf(input, result?.user ?? null, result?.session ?? null, result ? { sessionId: result.session.id } : null)
  if (!result) ctx.clearSessionCookie()
  else if (result.renewed) ctx.setSessionCookie(token, result.session.expiresAt)
  return ctx
}

/**
 * One object literal, the same keys in the same order for every caller: contexts share one shape
 * (tRPC copies the context per middleware level; a storm makes thousands).
 */
function contextOf(input: ContextInput, user: SessionUser | null, session: Session | null, credential: Credential | null): Context {
  const { cookies } = input
  return {
    db: input.db,
    env: input.env,
    cookies,
    bearer: input.bearer,
    wsTicket: input.wsTicket,
    ip: input.ip,
    socket: input.socket,
    services: input.services ?? useServices(),
    user,
    session,
    credential,
    // A socket cannot set cookies: its context (kept as long as the socket) shares two no-ops.
    setSessionCookie: input.socket ? noCookieChange : (token: string, expiresAt: Date) => cookies.set(SESSION_COOKIE, token, { expires: expiresAt }),
    clearSessionCookie: input.socket ? noCookieChange : () => cookies.delete(SESSION_COOKIE),
  }
}
