import { authenticateApiToken } from '../services/apiToken'
import { authenticateWsTicket } from '../services/wsTicket'
import { SESSION_COOKIE, validateSessionToken, type Session, type SessionUser } from '../services/session'
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
}

export interface Context extends ContextInput {
  user: SessionUser | null
  session: Session | null
  setSessionCookie: (token: string, expiresAt: Date) => void
  clearSessionCookie: () => void
}

/** Resolves who is calling: a WebSocket ticket, a personal API token, or a session cookie. Used by HTTP, WS and tests. */
export async function createContextInner(input: ContextInput): Promise<Context> {
  const setSessionCookie = (token: string, expiresAt: Date) => input.cookies.set(SESSION_COOKIE, token, { expires: expiresAt })
  const clearSessionCookie = () => input.cookies.delete(SESSION_COOKIE)
  const base = { ...input, setSessionCookie, clearSessionCookie }
  if (input.wsTicket) {
    const user = await authenticateWsTicket(input.db, input.wsTicket)
    return { ...base, user, session: null }
  }
  if (input.bearer) {
    const user = await authenticateApiToken(input.db, input.bearer)
    return { ...base, user, session: null }
  }
  const token = input.cookies.get(SESSION_COOKIE)
  if (!token) return { ...base, user: null, session: null }
  const result = await validateSessionToken(input.db, token)
  if (!result) {
    clearSessionCookie()
    return { ...base, user: null, session: null }
  }
  if (result.renewed) setSessionCookie(token, result.session.expiresAt)
  return { ...base, user: result.user, session: result.session }
}
