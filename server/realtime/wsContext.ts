import type { IncomingHttpHeaders } from 'node:http'
import { API_TOKEN_PREFIX } from '../services/apiToken'
import { createContextInner, type Context, type CookieJar } from '../trpc/context'
import type { Db } from '../utils/db'
import type { Env } from '../utils/env'

/** `a=1; b=2` → { a: '1', b: '2' } (the first value of a name wins, as browsers send the most specific first). */
export function parseCookieHeader(header: string | undefined): Record<string, string> {
  const values: Record<string, string> = {}
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    if (!name || name in values) continue
    const raw = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
    try {
      values[name] = decodeURIComponent(raw)
    }
    catch {
      values[name] = raw
    }
  }
  return values
}

export interface WsContextInput {
  db: Db
  env: Pick<Env, 'secureCookies'>
  headers: IncomingHttpHeaders
  ip: string
  /** `connectionParams` the client sent as its first message, if any */
  connectionParams: Record<string, string | undefined> | null
}

/**
 * Who is on a socket: `connectionParams.token` when sent — a personal API token (`ttp_…`) or a
 * ticket from `auth.wsTicket` (an invalid one leaves the socket unauthenticated, it does not fall
 * back to the cookie) — else the session cookie of the upgrade request. A socket cannot set
 * cookies, so a session renewal is skipped here (the next HTTP request renews it) and an invalid
 * cookie is simply ignored.
 */
export function createWsContext({ db, env, headers, ip, connectionParams }: WsContextInput): Promise<Context> {
  const values = parseCookieHeader(headers.cookie)
  const cookies: CookieJar = {
    get: name => values[name],
    set: () => {},
    delete: () => {},
  }
  const token = typeof connectionParams?.token === 'string' && connectionParams.token ? connectionParams.token : undefined
  const isApiToken = token?.startsWith(API_TOKEN_PREFIX)
  return createContextInner({
    db,
    env,
    cookies,
    bearer: isApiToken ? token : undefined,
    wsTicket: isApiToken ? undefined : token,
    ip,
    socket: true,
  })
}
