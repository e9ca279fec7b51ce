import type { Db } from '../utils/db'

/** Which of these users are in do-not-disturb. */
export type DndLookup = (db: Db, userIds: string[]) => Promise<Set<string>>

/**
 * Presence owns the do-not-disturb status; by default it is read from `User.status`. A presence
 * implementation that keeps the status elsewhere (Redis) builds its services with its own `dnd`.
 */
export const dndFromUserStatus: DndLookup = async (db, userIds) => {
  const rows = await db.user.findMany({ where: { id: { in: userIds }, status: 'DND' }, select: { id: true } })
  return new Set(rows.map(r => r.id))
}
