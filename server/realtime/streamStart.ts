import type { Role } from '../../shared/schemas/common'
import { notFound } from '../services/errors'
import type { Db } from '../utils/db'
import { BatchWindow } from './turnBatch'

/**
 * What a `project.onEvent` subscription needs before it streams: the subscriber's role and the
 * project's current event seq. Subscriptions that start together (a connection storm: thousands of
 * sockets after a deploy or a network blip) share one read per project: calls made within
 * {@link START_WINDOW_MS} of each other are answered by one query for all their users, instead of
 * two round trips per socket. Nothing is cached past that read, so a membership removed a moment earlier is always seen
 * (each caller is already subscribed to the bus when it asks, so nothing committed after the read
 * is missed either).
 */
export interface StreamStart {
  role: Role
  eventSeq: number
}

interface Waiter {
  userId: string
  resolve: (start: StreamStart) => void
  reject: (error: unknown) => void
}

/** How long a start waits for others of the same project to share its read (longer while a storm is on: {@link BatchWindow}). */
export const START_WINDOW_MS = 3
export const START_STORM_WINDOW_MS = 15
const startWindow = new BatchWindow(START_WINDOW_MS, START_STORM_WINDOW_MS)

/** Largest number of users read in one query (an IN list). */
const MAX_BATCH = 1_000

const pendingByDb = new WeakMap<Db, Map<string, Waiter[]>>()

/** Reads done (each answering one or more subscriptions): for tests and metrics. */
export const streamStartStats = { reads: 0, answered: 0 }

/** The subscriber's role and the project's event seq; NOT_FOUND for a non-member, as `requireRole`. */
export function readStreamStart(db: Db, projectId: string, userId: string): Promise<StreamStart> {
  let pending = pendingByDb.get(db)
  if (!pending) pendingByDb.set(db, (pending = new Map()))
  let waiters = pending.get(projectId)
  if (!waiters) {
    waiters = []
    pending.set(projectId, waiters)
    const batch = waiters
    // After the callers of the next few milliseconds have asked (a storm's subscribe frames arrive
    // over many turns of the event loop, one socket per I/O callback).
    setTimeout(() => {
      if (pending.get(projectId) === batch) pending.delete(projectId)
      startWindow.record(batch.length)
      for (let i = 0; i < batch.length; i += MAX_BATCH) void answer(db, projectId, batch.slice(i, i + MAX_BATCH))
    }, startWindow.ms)
  }
  return new Promise((resolve, reject) => waiters.push({ userId, resolve, reject }))
}

async function answer(db: Db, projectId: string, waiters: Waiter[]) {
  try {
    streamStartStats.reads++
    const userIds = [...new Set(waiters.map(w => w.userId))]
    const project = await db.project.findUnique({
      where: { id: projectId },
      select: { eventSeq: true, members: { where: { userId: { in: userIds } }, select: { userId: true, role: true } } },
    })
    const roles = new Map(project?.members.map(m => [m.userId, m.role]))
    for (const waiter of waiters) {
      const role = roles.get(waiter.userId)
      streamStartStats.answered++
      if (!project || !role) waiter.reject(notFound('Project', projectId))
      else waiter.resolve({ role, eventSeq: project.eventSeq })
    }
  }
  catch (error) {
    for (const waiter of waiters) waiter.reject(error)
  }
}
