/** Seconds a client is told to wait (`Retry-After`) when the database cannot be reached. */
export const DATABASE_RETRY_AFTER_SECONDS = 5

/**
 * Prisma's codes for "the database is not there right now": P1001 can't reach, P1002 timed out,
 * P1008 operation timed out, P1017 server closed the connection, P2024 pool timeout, P2037 too many
 * connections. Everything else (constraint violations, bad input) is the request's own fault.
 */
const PRISMA_OUTAGE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037'])
/** Socket errors of the pg driver (Node's `code`). */
const SOCKET_OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])
/** PostgreSQL SQLSTATEs: class 08 connection exceptions, 53300 too many connections, 57P01–57P03 shutting down / starting. */
const SQLSTATE_OUTAGE = /^(08\d{3}|53300|57P0[123])$/
/** Kinds of Prisma driver-adapter errors (`@prisma/adapter-pg` maps socket errors onto these). */
const ADAPTER_OUTAGE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections'])
/** What pg and PGlite say when there is no connection (they set no code). */
const OUTAGE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Can't reach database server|Client has encountered a connection error|Connection refused|PGlite is closed|connection is closed/i

/**
 * Whether an error (or anything in its `cause` chain, including a Prisma driver adapter's
 * `meta.driverAdapterError`) says the database is unreachable or out of connections. Such a failure
 * is the server's temporary state, not the request's fault: the API answers 503 with `Retry-After`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>()
  const queue: unknown[] = [error]
  while (queue.length) {
    const e = queue.shift()
    if (!e || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    const { code, kind, message, cause, meta } = e as { code?: unknown, kind?: unknown, message?: unknown, cause?: unknown, meta?: { driverAdapterError?: unknown } }
    if (typeof code === 'string' && (PRISMA_OUTAGE_CODES.has(code) || SOCKET_OUTAGE_CODES.has(code) || SQLSTATE_OUTAGE.test(code))) return true
    if (typeof kind === 'string' && ADAPTER_OUTAGE_KINDS.has(kind)) return true
    if (typeof message === 'string' && OUTAGE_MESSAGE.test(message)) return true
    queue.push(cause, meta?.driverAdapterError)
  }
  return false
}
