import { initTRPC, TRPCError } from '@trpc/server'
import { ZodError } from 'zod'
import { DomainError } from '../services/errors'
import { observeCall } from '../utils/metrics'
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../utils/outage'
import type { Context } from './context'
import { transformer } from './transformer'

export { SOCKET_CALL_LIMIT } from '../container'

/**
 * Zod issues by dotted path of object keys (`patch.title`), so forms can point at nested fields too;
 * array indices are left out (`labels`, not `labels.0`): a form has one field for the whole list.
 */
function fieldIssues(error: ZodError) {
  const fieldErrors: Record<string, string[]> = {}
  const formErrors: string[] = []
  for (const issue of error.issues) {
    if (issue.path.length === 0) formErrors.push(issue.message)
    else (fieldErrors[issue.path.filter(k => typeof k !== 'number').join('.')] ??= []).push(issue.message)
  }
  return { fieldErrors, formErrors }
}

/** Keep-alive comment on every SSE stream. */
export const SSE_PING_MS = 10_000

const t = initTRPC.context<Context>().create({
  transformer,
  // Without this, production responses would carry stack traces.
  isDev: Boolean(import.meta.dev),
  // Subscriptions over SSE (the fallback when WebSockets are blocked, docs/websocket.md): a ping
  // every 10 s keeps proxies from closing an idle stream and lets the client notice a dead one (it
  // reconnects, with its last event id, after 25 s without a byte). Every 5 minutes the stream is
  // ended and reopened by the client, which checks its session again (as the socket re-check does).
  sse: {
    ping: { enabled: true, intervalMs: SSE_PING_MS },
    client: { reconnectAfterInactivityMs: 25_000 },
    maxDurationMs: 5 * 60_000,
  },
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? fieldIssues(error.cause) : null
    const domain = error.cause instanceof DomainError ? error.cause : null
    const fieldErrors: Record<string, string[]> = { ...zod?.fieldErrors }
    if (domain?.details.field) fieldErrors[domain.details.field] = [domain.message]
    const { field: _, ...details } = domain?.details ?? {}
    // Clients (the outbox) wait this long before sending again; HTTP also gets it as Retry-After.
    if (error.code === 'SERVICE_UNAVAILABLE') details.retryAfterSeconds = DATABASE_RETRY_AFTER_SECONDS
    const internal = error.code === 'INTERNAL_SERVER_ERROR' && !import.meta.dev
    return {
      ...shape,
      // Unexpected errors may carry SQL or paths in their message; users get a generic one.
      message: internal ? 'Something went wrong on our side. Please try again.' : zod ? 'Invalid input' : shape.message,
      data: {
        ...shape.data,
        fieldErrors: zod || domain?.details.field ? fieldErrors : undefined,
        formErrors: zod?.formErrors.length ? zod.formErrors : undefined,
        details: Object.keys(details).length ? details : undefined,
      },
    }
  },
})

/**
 * The one answer to a database outage (connection refused or lost, pool exhausted): 503 with a hint
 * to retry, so clients keep what they queued. The driver's message (hosts, SQL) stays in `cause`,
 * which is never sent.
 */
export function databaseUnavailable(cause: unknown): TRPCError {
  return new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: `Server unavailable: the database cannot be reached. Retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`,
    cause,
  })
}

/**
 * The tRPC error a failed call's error becomes: services throw DomainError, which gets the tRPC code
 * it names; a database outage becomes SERVICE_UNAVAILABLE (the HTTP context maps outages while
 * resolving the caller the same way, see server/trpc/http.ts); a unique-constraint race (two
 * requests creating the same thing) is a conflict, not a crash. Null: the error stands as it is.
 */
function mappedError(error: TRPCError): TRPCError | null {
  const cause = error.cause
  if (cause instanceof DomainError) return new TRPCError({ code: cause.code, message: cause.message, cause })
  if (error.code === 'INTERNAL_SERVER_ERROR' && isDatabaseUnavailable(cause)) return databaseUnavailable(cause)
  if (cause && (cause as { code?: string }).code === 'P2002') return new TRPCError({ code: 'CONFLICT', message: 'That already exists', cause })
  return null
}

/**
 * What every call goes through, as one middleware (each level of tRPC's middleware chain copies the
 * call's options, twice: in a connection storm of 5,000 sockets the chain was the largest source of
 * garbage):
 * - timed for /api/metrics, with the code the client gets (`path` is a procedure that exists, never raw input);
 * - a socket call (subscription start included) takes a token of the services' socket limiter
 *   (SOCKET_CALL_LIMIT; in Redis with REDIS_URL): the socket has no HTTP rate limiting in front of it;
 * - a failed call's error is mapped by {@link mappedError}.
 */
async function guardedCall<R extends { ok: true } | { ok: false, error: TRPCError }>(ctx: Context, path: string, type: string, run: () => Promise<R>): Promise<R> {
  const started = performance.now()
  let code = 'ok'
  try {
    if (ctx.socket) {
      const retryAfter = await ctx.services.limits.socket.take(ctx.user ? `user:${ctx.user.id}` : `ip:${ctx.ip}`)
      if (retryAfter > 0) {
        throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many requests on this connection, retry in ${retryAfter} s` })
      }
    }
    const result = await run()
    if (!result.ok) {
      const mapped = mappedError(result.error)
      if (mapped) throw mapped
      code = result.error.code
    }
    return result
  }
  catch (cause) {
    code = cause instanceof TRPCError ? cause.code : 'INTERNAL_SERVER_ERROR'
    throw cause
  }
  finally {
    observeCall(path, type, ctx.socket ? 'ws' : 'http', code, (performance.now() - started) / 1000)
  }
}

export const router = t.router
export const createCallerFactory = t.createCallerFactory
export const publicProcedure = t.procedure.use(({ ctx, path, type, next }) => guardedCall(ctx, path, type, () => next()))

/** A signed-in caller (session, API token or socket ticket); UNAUTHORIZED otherwise. */
export const protectedProcedure = t.procedure.use(({ ctx, path, type, next }) => guardedCall(ctx, path, type, () => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' })
  return next({ ctx: { user: ctx.user } })
}))

/** Only for a browser session (not API tokens): managing tokens and signing out. */
export const sessionProcedure = protectedProcedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: 'FORBIDDEN', message: 'This needs a signed-in browser session, not an API token' })
  return next({ ctx: { session: ctx.session } })
})
