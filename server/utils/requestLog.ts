import { randomUUID } from 'node:crypto'
import type { H3Event } from 'h3'
import { logger } from './logger'

/** Probes and scrapes (every few seconds from each balancer) and build assets: logged at debug only. */
const QUIET_PATHS = new Set(['/api/health', '/api/ready', '/api/metrics', '/favicon.ico'])
const QUIET_PREFIXES = ['/_nuxt/', '/__nuxt']
const REQUEST_ID = /^[\w.:=/+-]{1,128}$/

/** The proxy's request id (nginx `X-Request-Id`, an ALB's `X-Amzn-Trace-Id`) when it looks like one, else a new one. */
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  for (const name of ['x-request-id', 'x-amzn-trace-id']) {
    const value = headers[name]
    if (typeof value === 'string' && REQUEST_ID.test(value)) return value
  }
  return randomUUID()
}

/** `/api/trpc/a.b,c.d?batch=1&input=…` → `['a.b', 'c.d']` (the query, which carries inputs, is never read). */
export function proceduresOf(path: string): string[] | undefined {
  const match = /^\/api\/trpc\/([^?]+)/.exec(path)
  if (!match) return undefined
  return decodeURIComponent(match[1]!).split(',').filter(p => /^[\w.]{1,200}$/.test(p))
}

declare module 'h3' {
  interface H3EventContext {
    /** set by server/trpc/http.ts once the caller is known */
    userId?: string
    requestId?: string
  }
}

/**
 * Starts timing a request and logs one line when its response is done (finished or cut off):
 * method, path without the query, tRPC procedures, status, duration, user id, request id.
 */
export function logRequest(event: H3Event) {
  const started = performance.now()
  const { req, res } = event.node
  const requestId = requestIdOf(req.headers)
  event.context.requestId = requestId
  if (!res.headersSent) res.setHeader('x-request-id', requestId)
  res.once('close', () => {
    const path = (req.url ?? '/').split('?')[0]!
    const status = res.statusCode
    const fields = {
      event: 'http.request',
      method: req.method,
      path,
      procedures: proceduresOf(path),
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      userId: event.context.userId ?? null,
      requestId,
      // the client went away before the response was complete (an SSE stream ending is this too)
      aborted: !res.writableFinished || undefined,
    }
    const message = `${req.method} ${path} ${status}`
    // probes stay at debug even when they fail: the balancer and /api/ready's body show that, a line per probe would flood the log
    if (QUIET_PATHS.has(path) || QUIET_PREFIXES.some(p => path.startsWith(p))) logger.debug(message, fields)
    else if (status >= 500) logger.warn(message, fields)
    else logger.info(message, fields)
  })
}
