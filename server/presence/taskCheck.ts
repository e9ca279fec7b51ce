import { requireTaskInProject } from '../services/task'
import type { DbTx } from '../utils/db'

/**
 * How long a task found in a project is taken as still there by presence calls. A task never moves
 * to another project; one deleted meanwhile may show in presence for at most this long, which the
 * board has already dropped (issue 13: presence calls with no database read on the hot path).
 */
export const TASK_CHECK_TTL_MS = 10_000
const MAX_ENTRIES = 50_000

/** Per database (tests each have their own): `${projectId} ${taskId}` → valid until. */
const known = new WeakMap<object, Map<string, number>>()

/**
 * {@link requireTaskInProject} for `presence.update` / `presence.typing`, which come several times a
 * second per user: a task found is remembered for {@link TASK_CHECK_TTL_MS}; a miss is never
 * remembered, so NOT_FOUND is always read fresh.
 */
export async function requirePresenceTask(db: DbTx, projectId: string, taskId: string, now = Date.now()) {
  let tasks = known.get(db)
  if (!tasks) known.set(db, (tasks = new Map()))
  const key = `${projectId} ${taskId}`
  const until = tasks.get(key)
  if (until !== undefined && until > now) return
  await requireTaskInProject(db, projectId, taskId)
  tasks.delete(key)
  if (tasks.size >= MAX_ENTRIES) tasks.delete(tasks.keys().next().value!)
  tasks.set(key, now + TASK_CHECK_TTL_MS)
}
