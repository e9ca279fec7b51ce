// The merge driver of task.update for a stale baseVersion: what the event log says changed since,
// merged with the patch by the pure rules of merge.ts (docs/decisions/0004-conflict-merge.md).
import type { ConflictPolicy } from '../../shared/schemas/project'
import type { ChangeActor, TaskConflictDetails, TaskPatch } from '../../shared/schemas/task'
import type { DbTx } from '../utils/db'
import { DomainError } from './errors'
import type { FieldChanges } from './events'
import { mergeTaskPatch, type FieldHistory } from './merge'
import type { TaskDto } from './taskDto'

/** task.update with a stale baseVersion: the fields changed since, per the event log, merged with the patch. */
export async function mergeStalePatch(tx: DbTx, task: TaskDto, conflictPolicy: ConflictPolicy, baseVersion: number, patch: TaskPatch): Promise<TaskPatch> {
  const { changedSince, complete } = await changesSince(tx, task, baseVersion)
  if (!complete) {
    // A version without its event (should not happen): nothing is known about the base, so every
    // field the patch would change counts as changed by someone else.
    for (const field of Object.keys(patch)) {
      const seen = changedSince.get(field)
      changedSince.set(field, { base: undefined, actor: seen?.actor ?? null, at: seen?.at ?? task.updatedAt })
    }
  }
  const { apply, conflicts } = mergeTaskPatch({ current: task, patch, changedSince, policy: conflictPolicy })
  if (conflicts.length === 0) return apply
  const details: TaskConflictDetails<TaskDto> = {
    current: task,
    conflicts: conflicts.map(({ field, base, theirs, mine }) => {
      const { actor, at } = changedSince.get(field)!
      return { field, base, theirs: { value: theirs, actor, at }, mine }
    }),
  }
  throw new DomainError(
    'CONFLICT',
    `Task ${task.id} was changed by someone else since version ${baseVersion} (now ${task.version}): ${conflicts.map(c => c.field).join(', ')}`,
    { ...details },
  )
}

interface LoggedFieldChange extends FieldHistory {
  /** the latest write that changed the field */
  actor: ChangeActor | null
  at: Date
}

/** Fields stored as JSON in the log whose values are not JSON types. */
function fromLog(field: string, value: unknown): unknown {
  return field === 'dueDate' && typeof value === 'string' ? new Date(value) : value
}

/**
 * Which fields the writes after `baseVersion` changed, with their value at `baseVersion` (the `from`
 * of the first change) and who changed them last. `complete` is false when a version has no event.
 */
async function changesSince(tx: DbTx, task: TaskDto, baseVersion: number) {
  // One statement with the actors (a Prisma include would be a second round trip under the lock).
  const rows = await tx.$queryRaw<{ data: { version: number, changes?: FieldChanges }, createdAt: Date, actorId: string | null, username: string | null, name: string | null }[]>`
    SELECT e."data", e."createdAt", u."id" AS "actorId", u."username", u."name"
    FROM "ProjectEvent" e
    LEFT JOIN "User" u ON u."id" = e."actorId"
    WHERE e."projectId" = ${task.projectId} AND e."entityId" = ${task.id}
      AND e."type" IN ('task.updated', 'task.moved', 'task.deleted', 'task.restored') AND (e."data"->>'version')::int > ${baseVersion}
    ORDER BY e."seq"`
  const changedSince = new Map<string, LoggedFieldChange>()
  const versions = new Set<number>()
  for (const { data, createdAt: at, actorId, username, name } of rows) {
    const actor = actorId ? { id: actorId, username: username!, name: name! } : null
    versions.add(data.version)
    // A delete and its undo are versions without field changes.
    for (const [field, { from }] of Object.entries(data.changes ?? {})) {
      const seen = changedSince.get(field)
      if (seen) Object.assign(seen, { actor, at })
      else changedSince.set(field, { base: fromLog(field, from), actor, at })
    }
  }
  let complete = true
  for (let v = baseVersion + 1; v <= task.version; v++) complete &&= versions.has(v)
  return { changedSince, complete }
}
