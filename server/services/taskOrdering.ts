// Where a card stands on the board: the order of a column and fractional position keys.
import { generateKeyBetween } from 'fractional-indexing'
import { taskStatusValues, type TaskStatus } from '../../shared/schemas/common'
import type { DbTx } from '../utils/db'
import type { TaskDto } from './taskDto'

const statusOrder = Object.fromEntries(taskStatusValues.map((s, i) => [s, i])) as Record<TaskStatus, number>

/** Board order: status column, then fractional position compared as plain bytes, then id for ties. */
export function compareTasks(a: Pick<TaskDto, 'status' | 'position' | 'id'>, b: Pick<TaskDto, 'status' | 'position' | 'id'>): number {
  return statusOrder[a.status] - statusOrder[b.status]
    || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0)
    || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Position after the last card of a column. */
export async function endOfColumn(db: DbTx, projectId: string, status: TaskStatus, excludeId?: string): Promise<string> {
  const rows = await db.task.findMany({
    where: { projectId, status, deletedAt: null, ...(excludeId ? { id: { not: excludeId } } : {}) },
    select: { position: true },
  })
  const last = rows.reduce<string | null>((max, r) => (max === null || r.position > max ? r.position : max), null)
  return generateKeyBetween(last, null)
}

/** A key strictly between two neighbours; neighbours that tie (after concurrent moves) fall back to below the upper one. */
export function keyBetween(lower: string | null, upper: string | null): string {
  if (lower !== null && upper !== null && lower >= upper) return generateKeyBetween(lower, null)
  return generateKeyBetween(lower, upper)
}
