import { sessionUserSelect, type SessionRow, type SessionRowReader } from '../services/session'
import type { DbTx } from '../utils/db'
import { turnBatcher } from './turnBatch'

/**
 * How long a socket's session lookup waits for others to share its query. Sockets of a storm arrive
 * spread over many turns of the event loop (each upgrade is its own I/O callback), so a few
 * milliseconds gather far more of them than one turn does; against one query per socket on a busy
 * database, it is a small price.
 */
export const SESSION_WINDOW_MS = 3
/** The window while a storm is on (the previous batch had company): more sockets per query. */
export const SESSION_STORM_WINDOW_MS = 15

const batchers = new WeakMap<DbTx, ReturnType<typeof turnBatcher<string, SessionRow>>>()

/**
 * Session rows for sockets authenticating by cookie: those asked for within
 * {@link SESSION_WINDOW_MS} of each other (a connection storm) are read with one query. Expiry and renewal stay per session
 * (`validateSessionToken`); nothing is cached past the read, so a deleted session never opens a socket.
 */
export const batchedSessionRow: SessionRowReader = (db, id) => {
  let batcher = batchers.get(db)
  if (!batcher) {
    batcher = turnBatcher<string, SessionRow>(async (ids) => {
      const rows = await db.session.findMany({ where: { id: { in: ids } }, select: { id: true, userId: true, expiresAt: true, user: { select: sessionUserSelect } } })
      return new Map(rows.map(({ id: rowId, ...row }) => [rowId, row]))
    }, { windowMs: SESSION_WINDOW_MS, stormWindowMs: SESSION_STORM_WINDOW_MS })
    batchers.set(db, batcher)
  }
  return batcher.load(id).then(row => row ?? null)
}

/** Batches and lookups so far, over every database (tests). */
export function socketSessionStats(db: DbTx) {
  return batchers.get(db)?.stats ?? { batches: 0, calls: 0 }
}
