import { parseCookie } from 'cookie-es'
import type { IncomingHttpHeaders } from 'node:http'
import { API_TOKEN_PREFIX } from '../services/apiToken'
import { createContextInner, type Context, type CookieJar } from '../trpc/context'
import type { Db } from '../utils/db'
import type { Env } from '../utils/env'

export interface WsContextInput {
  db: Db
  env: Pick<Env, 'secureCookies'>
  headers: IncomingHttpHeaders
  ip: string
  /** `connectionParams` the client sent as its first message, if any */
  connectionParams: Record<string, string | undefined> | null
}

/** The upgrade request's cookies, read-only (a socket cannot set any): one object per socket, its methods shared. */
class SocketCookies implements CookieJar {
  constructor(private readonly values: Record<string, string | undefined>) {}
  get(name: string) {
    return this.values[name]
  }

  set() {}
  delete() {}
}

/**
 * Who is on a socket: `connectionParams.token` when sent — a personal API token (`ttp_…`) or a
 * ticket from `auth.wsTicket` (an invalid one leaves the socket unauthenticated, it does not fall
 * back to the cookie) — else the session cookie of the upgrade request. A socket cannot set
 * cookies, so a session renewal is skipped here (the next HTTP request renews it) and an invalid
 * cookie is simply ignored.
 */
export function createWsContext({ db, env, headers, ip, connectionParams }: WsContextInput): Promise<Context> {
  // cookie-es, the parser h3 uses: the first value of a name wins (browsers send the most specific first).
  const cookies = new SocketCookies(parseCookie(headers.cookie ?? ''))
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
