import type { Prisma } from '../generated/prisma/client'
import type { DbTx } from '../utils/db'
import { newId } from '../utils/ids'

export type FieldChanges = Record<string, { from: unknown, to: unknown }>

export interface AppendEventInput {
  projectId: string
  type: string
  actorId: string | null
  entityType: 'task' | 'comment' | 'member' | 'project'
  entityId: string
  data: Prisma.InputJsonValue
}

/**
 * Takes the project's row lock for the rest of the transaction. Writes in a project take it first,
 * so they serialize in one order (no deadlocks) and a card's place is computed on the current column:
 * two cards dropped into a column at once would otherwise get the same position.
 */
export async function lockProject(tx: DbTx, projectId: string) {
  await tx.$queryRaw`SELECT 1 FROM "Project" WHERE "id" = ${projectId} FOR UPDATE`
}

/**
 * Appends to the project's event log inside the caller's transaction. Incrementing the project's
 * counter row takes its row lock, so concurrent writers in one project get seq n, n+1, … with no gaps.
 */
export async function appendEvent(tx: DbTx, input: AppendEventInput) {
  const { eventSeq } = await tx.project.update({
    where: { id: input.projectId },
    data: { eventSeq: { increment: 1 } },
    select: { eventSeq: true },
  })
  return tx.projectEvent.create({
    data: { id: newId(), seq: eventSeq, ...input },
    select: { id: true, projectId: true, seq: true, type: true, actorId: true, entityType: true, entityId: true, data: true, createdAt: true },
  })
}

/** Only the fields whose value really changes, with old and new values (dates compared by time). */
export function diffFields<T extends Record<string, unknown>>(before: T, patch: Partial<T>): FieldChanges {
  const changes: FieldChanges = {}
  for (const [key, to] of Object.entries(patch)) {
    if (to === undefined) continue
    const from = before[key]
    if (!sameValue(from, to)) changes[key] = { from, to }
  }
  return changes
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i])
  return a === b
}
