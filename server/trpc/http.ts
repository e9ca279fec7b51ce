import type { IncomingMessage } from 'node:http'
import { TRPCError } from '@trpc/server'
import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import { createError, defineEventHandler, getCookie, getHeader, getRequestIP, getRequestURL, readRawBody, type H3Event } from 'h3'
import { DomainError } from '../services/errors'
import type { Db } from '../utils/db'
import type { Env } from '../utils/env'
import { logCallError, logger } from '../utils/logger'
import { isAllowedOrigin, isForeignOrigin } from '../utils/origin'
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../utils/outage'
import { createContextInner, type CookieJar } from './context'
import { databaseUnavailable } from './init'
import { appRouter } from './routers/_app'

// The HTTP call budget and its settings live with the limiter that enforces it (ctx.services.limits.http).
export { HTTP_CALL_LIMIT, httpCallRateOf } from '../container'

const TOO_LARGE = Symbol('body too large')

/**
 * Reads a request body of at most `max` bytes. A declared Content-Length over it is refused without
 * reading a byte; a chunked body is counted as it arrives and reading stops (the socket is paused,
 * then closed after the 413) as soon as it passes `max`, so at most `max` bytes are ever held.
 */
function readNodeBody(req: IncomingMessage, max: number): Promise<Buffer | typeof TOO_LARGE> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError)
    }
    function onData(chunk: Buffer) {
      size += chunk.length
      if (size > max) {
        done()
        req.pause()
        resolve(TOO_LARGE)
      }
      else chunks.push(chunk)
    }
    function onEnd() {
      done()
      resolve(Buffer.concat(chunks, size))
    }
    function onError(error: Error) {
      done()
      reject(error)
    }
    req.on('data', onData).on('end', onEnd).on('error', onError)
  })
}

/** How long a connection whose body was refused stays open after the answer, so the client reads it. */
const LINGER_MS = 2_000

/**
 * After refusing a body, nothing more of it is read: the request stays paused, so TCP flow control
 * stops the sender once the socket buffers are full. The connection is cut a moment after the
 * answer went out; cutting it at once (with unread data) would reset it, and a client still sending
 * could lose the 413 it was sent.
 */
function stopReadingAndCutAfterAnswer(event: H3Event) {
  const { req, res } = event.node
  if (req.complete || isInProcess(event)) return
  req.pause()
  // Marks the body as being consumed (at most one buffer of it is read): otherwise Node would read
  // and discard all the rest after the answer, to keep the connection alive.
  req.read(0)
  res.once('finish', () => {
    const timer = setTimeout(() => req.socket?.destroy(), LINGER_MS)
    timer.unref()
    req.socket?.once('close', () => clearTimeout(timer))
  })
}

async function readLimitedBody(event: H3Event, max: number): Promise<Buffer | typeof TOO_LARGE | undefined> {
  if (event.method === 'GET' || event.method === 'HEAD') return undefined
  // An in-process request (SSR's $fetch through Nitro's local fetch) carries its body already.
  if (isInProcess(event)) {
    const raw = await readRawBody(event, false)
    return raw && raw.length > max ? TOO_LARGE : raw
  }
  const declared = Number(getHeader(event, 'content-length'))
  const body = declared > max
    ? TOO_LARGE
    : await readNodeBody(event.node.req, max).catch(() => {
        throw createError({ statusCode: 400, statusMessage: 'Request body was cut off' })
      })
  if (body === TOO_LARGE) stopReadingAndCutAfterAnswer(event)
  return body
}

/** SSR's own calls (Nitro's local fetch, no socket): bounded by the page render, not by a client. */
function isInProcess(event: H3Event): boolean {
  const req = event.node.req as IncomingMessage & { __unenv__?: unknown }
  return '__unenv__' in req || !req.socket || typeof req.socket.remoteAddress !== 'string'
}

function serializeCookie(name: string, value: string, expires: Date, secure: boolean) {
  return `${name}=${value}; Path=/; Expires=${expires.toUTCString()}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/** The seconds a client should wait before retrying after this error, if it is worth retrying. */
function retryAfterOf(error: TRPCError): number {
  if (error.code === 'SERVICE_UNAVAILABLE') return DATABASE_RETRY_AFTER_SECONDS
  if (error.cause instanceof DomainError && typeof error.cause.details.retryAfterSeconds === 'number') return error.cause.details.retryAfterSeconds
  return 0
}

export interface TrpcHttpOptions {
  env: () => Env
  db: () => Promise<Db>
}

/**
 * `/api/trpc/*`: the CSRF guard (403), then the body limit (413) before anything is parsed, then the tRPC
 * fetch adapter, whose context refuses over-long batches (400) before any procedure runs and takes
 * one rate-limit token per call of the batch (429). Errors keep the tRPC shape (superjson, error
 * formatter); 429 and 503 carry `Retry-After`.
 */
export function createTrpcHttpHandler(options: TrpcHttpOptions) {
  return defineEventHandler(async (event) => {
    const env = options.env()
    // Refusals decided before tRPC runs; thrown from createContext so they keep the tRPC error shape.
    let refusal: TRPCError | null = null
    let body: Awaited<ReturnType<typeof readLimitedBody>>
    if (isForeignOrigin(event, env.allowedOrigins)) {
      refusal = new TRPCError({ code: 'FORBIDDEN', message: 'Cross-site request refused: this origin may not call the API' })
      stopReadingAndCutAfterAnswer(event)
    }
    else {
      body = await readLimitedBody(event, env.MAX_BODY_BYTES)
      if (body === TOO_LARGE) refusal = new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `The request body is larger than ${env.MAX_BODY_BYTES} bytes` })
    }
    const headers = new Headers()
    for (const [name, value] of Object.entries(event.node.req.headers)) {
      if (value === undefined || name === 'content-length' || name === 'transfer-encoding' || name.startsWith(':')) continue
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
    }
    const req = new Request(getRequestURL(event), {
      method: event.method,
      headers,
      body: body === TOO_LARGE || body === undefined ? undefined : new Uint8Array(body),
      signal: abortOnClose(event),
    })
    return fetchRequestHandler({
      endpoint: '/api/trpc',
      router: appRouter,
      req,
      createContext: async ({ info, resHeaders }) => {
        if (refusal) throw refusal
        // A subscription (GET, text/event-stream) is a long-lived read on the session cookie: a page of
        // another site must not hold one open, as for WebSocket upgrades. Same-origin pages send no
        // Origin on a GET; one that is sent must be ours.
        const origin = getHeader(event, 'origin')
        if (origin && info.calls.some(call => call.procedure?._def.type === 'subscription') && !isAllowedOrigin(origin, env.allowedOrigins)) {
          throw new TRPCError({ code: 'FORBIDDEN', message: 'Cross-site subscription refused: this origin may not subscribe' })
        }
        if (info.calls.length > env.MAX_BATCH_SIZE) {
          throw new TRPCError({ code: 'BAD_REQUEST', message: `A batch may hold at most ${env.MAX_BATCH_SIZE} calls; this one has ${info.calls.length}. Send them in smaller batches.` })
        }
        const cookies: CookieJar = {
          get: name => getCookie(event, name),
          set: (name, value, opts) => resHeaders.append('set-cookie', serializeCookie(name, value, opts.expires ?? new Date(Date.now() + 86_400_000), env.secureCookies)),
          delete: name => resHeaders.append('set-cookie', serializeCookie(name, '', new Date(0), env.secureCookies)),
        }
        const bearer = getHeader(event, 'authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1]
        const ip = getRequestIP(event, { xForwardedFor: env.TRUST_PROXY }) ?? 'unknown'
        let ctx
        try {
          ctx = await createContextInner({ db: await options.db(), env, cookies, bearer, ip })
        }
        catch (error) {
          // Resolving the session is the first query of most calls: an outage here is a 503 too.
          if (isDatabaseUnavailable(error)) throw databaseUnavailable(error)
          throw error
        }
        event.context.userId = ctx.user?.id
        if (!isInProcess(event)) {
          const retryAfter = await ctx.services.limits.http.take(ctx.user ? `user:${ctx.user.id}` : `ip:${ip}`, info.calls.length)
          if (retryAfter > 0) {
            const message = `Too many requests, retry in ${retryAfter} s`
            throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message, cause: new DomainError('TOO_MANY_REQUESTS', message, { retryAfterSeconds: retryAfter }) })
          }
        }
        return ctx
      },
      responseMeta({ errors }) {
        const out: Record<string, string> = {}
        const retryAfter = Math.max(0, ...errors.map(retryAfterOf))
        if (retryAfter > 0) out['retry-after'] = String(retryAfter)
        return { headers: out }
      },
      onError: ({ error, path, ctx }) => {
        logCallError({ code: error.code, message: error.message, path, transport: 'http', userId: ctx?.user?.id ?? null, ip: ctx?.ip ?? getRequestIP(event, { xForwardedFor: env.TRUST_PROXY }) })
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error(`tRPC ${path ?? '?'} failed`, { message: error.message, stack: error.stack })
        // Prisma's message is a code frame; its last line says what happened ("Can't reach database server at …").
        else if (error.code === 'SERVICE_UNAVAILABLE') logger.warn(`tRPC ${path ?? '?'}: database unavailable`, { message: error.cause?.message.split('\n').filter(Boolean).at(-1) })
      },
    })
  })
}

/** Aborts the Request's signal when the client goes away (subscriptions over SSE, long calls). */
function abortOnClose(event: H3Event): AbortSignal | undefined {
  if (isInProcess(event)) return undefined
  const controller = new AbortController()
  event.node.res.once('close', () => controller.abort())
  return controller.signal
}
