import { generateKeyBetween } from 'fractional-indexing'
import { INT4_MAX, taskStatusValues, writerRoles, type Role, type TaskStatus } from '../../shared/schemas/common'
import type { ConflictPolicy } from '../../shared/schemas/project'
import type { ChangeActor, CommentCreateInput, TaskConflictDetails, TaskListInput, TaskMoveInput, TaskPatch } from '../../shared/schemas/task'
import { Prisma } from '../generated/prisma/client'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { checkRole, memberRole, requireRole } from './access'
import { DomainError, notFound } from './errors'
import { appendEvent, diffFields, jsonChanges, toJson, transaction, type FieldChanges } from './events'
import { mergeTaskPatch, type FieldHistory } from './merge'

export const taskSelect = {
  id: true,
  projectId: true,
  number: true,
  title: true,
  description: true,
  status: true,
  priority: true,
  assigneeId: true,
  assignee: { select: { id: true, username: true, name: true } },
  dueDate: true,
  labels: true,
  position: true,
  version: true,
  createdById: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.TaskSelect

export type TaskDto = Prisma.TaskGetPayload<{ select: typeof taskSelect }>

const statusOrder = Object.fromEntries(taskStatusValues.map((s, i) => [s, i])) as Record<TaskStatus, number>

/** Board order: status column, then fractional position compared as plain bytes, then id for ties. */
export function compareTasks(a: Pick<TaskDto, 'status' | 'position' | 'id'>, b: Pick<TaskDto, 'status' | 'position' | 'id'>): number {
  return statusOrder[a.status] - statusOrder[b.status]
    || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0)
    || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** A task the caller may see (member of its project, not deleted), with the caller's role. */
async function loadTask(db: DbTx, userId: string, id: string, allowed?: readonly ('OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER')[]) {
  const task = await db.task.findUnique({ where: { id }, select: { ...taskSelect, deletedAt: true } })
  if (!task || task.deletedAt) throw notFound('Task', id)
  checkRole(await memberRole(db, task.projectId, userId), allowed, { what: 'Task', id })
  const { deletedAt: _, ...dto } = task
  return dto
}

/**
 * loadTask for a write: checks access and takes the project lock in one statement, then reads the
 * task, so the task read is the one the write applies to (every write of the project's tasks holds
 * that lock until it commits) and the logged `from` values are exact. Also answers the project's
 * conflict policy, read under the same lock.
 */
async function loadTaskLocked(tx: DbTx, userId: string, id: string, allowed: readonly Role[]) {
  // The same row lock as lockProject(), taken together with the access check: task writes are
  // round trips to the database, and each one counts under parallel load.
  const [access] = await tx.$queryRaw<{ projectId: string, role: Role | null, conflictPolicy: ConflictPolicy }[]>`
    SELECT t."projectId", m."role"::text AS "role", p."conflictPolicy"::text AS "conflictPolicy"
    FROM "Task" t
    JOIN "Project" p ON p."id" = t."projectId"
    LEFT JOIN "ProjectMember" m ON m."projectId" = t."projectId" AND m."userId" = ${userId}
    WHERE t."id" = ${id} AND t."deletedAt" IS NULL
    FOR UPDATE OF p`
  checkRole(access?.role, allowed, { what: 'Task', id })
  const task = await readTaskForWrite(tx, id)
  if (!task) throw notFound('Task', id)
  return { task, conflictPolicy: access!.conflictPolicy }
}

type TaskRow = Omit<TaskDto, 'assignee'> & { deletedAt: Date | null, assigneeUsername: string | null, assigneeName: string | null }

/** `taskSelect` of a task that is not deleted, in one statement (Prisma would read the assignee in a second one). */
async function readTaskForWrite(tx: DbTx, id: string): Promise<TaskDto | null> {
  const [row] = await tx.$queryRaw<TaskRow[]>`
    SELECT t."id", t."projectId", t."number", t."title", t."description", t."status"::text AS "status",
      t."priority"::text AS "priority", t."assigneeId", t."dueDate", t."labels", t."position", t."version",
      t."createdById", t."createdAt", t."updatedAt", t."deletedAt", u."username" AS "assigneeUsername", u."name" AS "assigneeName"
    FROM "Task" t
    LEFT JOIN "User" u ON u."id" = t."assigneeId"
    WHERE t."id" = ${id}`
  if (!row || row.deletedAt) return null
  return {
    id: row.id,
    projectId: row.projectId,
    number: row.number,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    assigneeId: row.assigneeId,
    assignee: row.assigneeId ? { id: row.assigneeId, username: row.assigneeUsername!, name: row.assigneeName! } : null,
    dueDate: row.dueDate,
    labels: row.labels,
    position: row.position,
    version: row.version,
    createdById: row.createdById,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  } satisfies Record<keyof typeof taskSelect, unknown>
}

/** The user a task may be assigned to (a member of its project), as `TaskDto.assignee`; BAD_REQUEST otherwise. */
async function assignableUser(db: DbTx, projectId: string, assigneeId: string) {
  const user = await db.user.findFirst({ where: { id: assigneeId, memberships: { some: { projectId } } }, select: taskSelect.assignee.select })
  if (!user) throw new DomainError('BAD_REQUEST', `User ${assigneeId} is not a member of this project`, { field: 'assigneeId' })
  return user
}

async function assertAssignable(db: DbTx, projectId: string, assigneeId: string | null | undefined) {
  if (!assigneeId) return
  const member = await db.projectMember.findUnique({ where: { projectId_userId: { projectId, userId: assigneeId } } })
  if (!member) throw new DomainError('BAD_REQUEST', `User ${assigneeId} is not a member of this project`, { field: 'assigneeId' })
}

/** Position after the last card of a column. */
async function endOfColumn(db: DbTx, projectId: string, status: TaskStatus, excludeId?: string): Promise<string> {
  const rows = await db.task.findMany({
    where: { projectId, status, deletedAt: null, ...(excludeId ? { id: { not: excludeId } } : {}) },
    select: { position: true },
  })
  const last = rows.reduce<string | null>((max, r) => (max === null || r.position > max ? r.position : max), null)
  return generateKeyBetween(last, null)
}

/** What a board card or list row needs: no description, so a 1,000-task board stays small. */
export const taskListSelect = {
  id: true,
  projectId: true,
  number: true,
  title: true,
  status: true,
  priority: true,
  assigneeId: true,
  assignee: { select: { id: true, username: true, name: true } },
  dueDate: true,
  labels: true,
  position: true,
  version: true,
  updatedAt: true,
} as const satisfies Prisma.TaskSelect

export type TaskListItem = Prisma.TaskGetPayload<{ select: typeof taskListSelect }>

/**
 * Task lists cached per project and filter, valid for one event seq. Every write to a project's
 * tasks appends an event in its transaction, so an unchanged seq means an unchanged list, on any
 * instance. Results are shared between requests: treat them as immutable.
 */
const listCache = new Map<string, { seq: number, tasks: TaskListItem[] }>()
const LIST_CACHE_MAX = 200

/**
 * `value` for Prisma's `contains`, matched literally: Prisma passes it into `ILIKE '%…%'` as is
 * (https://github.com/prisma/prisma/issues/19506), where `%` and `_` are wildcards and `\` escapes.
 */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, c => `\\${c}`)
}

/**
 * The task number a search names ("12" or "WEB-12"), or null. Only numbers a task can have: digits
 * only (not "1e3"), and within int4, so "WEB-99999999999" matches nothing instead of failing in SQL.
 */
export function taskNumberIn(search: string): number | null {
  const digits = /^(?:[a-z][a-z0-9]*-)?(\d{1,10})$/i.exec(search)?.[1]
  const number = digits === undefined ? Number.NaN : Number(digits)
  return number >= 1 && number <= INT4_MAX ? number : null
}

export async function listTasks(db: Db, userId: string, input: TaskListInput): Promise<TaskListItem[]> {
  const membership = await db.projectMember.findUnique({
    where: { projectId_userId: { projectId: input.projectId, userId } },
    select: { project: { select: { eventSeq: true } } },
  })
  if (!membership) throw notFound('Project', input.projectId)
  // Object form: an absent filter (undefined, dropped) differs from assigneeId null (unassigned).
  const key = JSON.stringify({ p: input.projectId, s: input.status, a: input.assigneeId, l: input.label, q: input.search })
  const cached = listCache.get(key)
  if (cached && cached.seq === membership.project.eventSeq) return cached.tasks

  const where: Prisma.TaskWhereInput = { projectId: input.projectId, deletedAt: null }
  if (input.status?.length) where.status = { in: input.status }
  if (input.assigneeId !== undefined) where.assigneeId = input.assigneeId
  if (input.label) where.labels = { has: input.label }
  if (input.search) {
    const number = taskNumberIn(input.search)
    const text = likeLiteral(input.search)
    // Words: full text over title and description (indexed); anything else (a part of a word,
    // "100%") still finds titles that contain it.
    const ids = await textMatches(db, input.projectId, input.search)
    where.OR = [
      { title: { contains: text, mode: 'insensitive' } },
      ...(ids.length ? [{ id: { in: ids } }] : []),
      ...(number === null ? [] : [{ number }]),
    ]
  }
  // The seq was read before the tasks: the list is at least as new as its label, never older, so a
  // write committed in between only costs one extra miss.
  const tasks = (await db.task.findMany({ where, select: taskListSelect })).sort(compareTasks)
  listCache.delete(key)
  listCache.set(key, { seq: membership.project.eventSeq, tasks })
  if (listCache.size > LIST_CACHE_MAX) listCache.delete(listCache.keys().next().value!)
  return tasks
}

/**
 * NOT_FOUND unless `taskId` is a task (not deleted) of `projectId`, like a `taskId` outside its
 * project anywhere else. For calls that already know the caller is a member of the project (presence).
 */
export async function requireTaskInProject(db: DbTx, projectId: string, taskId: string) {
  const task = await db.task.findFirst({ where: { id: taskId, projectId, deletedAt: null }, select: { id: true } })
  if (!task) throw notFound('Task', taskId)
}

export async function getTask(db: Db, userId: string, id: string) {
  return loadTask(db, userId, id)
}

export async function createTask(db: Db, userId: string, input: {
  projectId: string
  title: string
  description: string
  status: TaskStatus
  priority: TaskDto['priority']
  assigneeId: string | null
  dueDate: Date | null
  labels: string[]
}) {
  return transaction(db, async (tx) => {
    await requireRole(tx, input.projectId, userId, writerRoles)
    await assertAssignable(tx, input.projectId, input.assigneeId)
    const { taskCounter } = await tx.project.update({
      where: { id: input.projectId },
      data: { taskCounter: { increment: 1 } },
      select: { taskCounter: true },
    })
    const task = await tx.task.create({
      data: {
        ...input,
        id: newId(),
        number: taskCounter,
        position: await endOfColumn(tx, input.projectId, input.status),
        createdById: userId,
        updatedById: userId,
      },
      select: taskSelect,
    })
    await appendEvent(tx, {
      projectId: task.projectId,
      type: 'task.created',
      actorId: userId,
      entityType: 'task',
      entityId: task.id,
      data: { task: toEventTask(task) },
    })
    return task
  })
}

function toEventTask(task: TaskDto) {
  const { assignee: _, ...rest } = task
  return toJson(rest)
}

/** task.update with a stale baseVersion: the fields changed since, per the event log, merged with the patch. */
async function mergeStalePatch(tx: DbTx, task: TaskDto, conflictPolicy: ConflictPolicy, baseVersion: number, patch: TaskPatch): Promise<TaskPatch> {
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

/**
 * Applies a patch written against `baseVersion`. The current version: as is. An older one: merged
 * with what happened since (server/services/merge.ts), or CONFLICT with nothing applied. The project
 * lock serializes task writes, and the write is guarded by the version it was merged onto.
 */
export async function updateTask(db: Db, userId: string, input: { id: string, baseVersion: number, patch: TaskPatch }) {
  return transaction(db, async (tx) => {
    const { task, conflictPolicy } = await loadTaskLocked(tx, userId, input.id, writerRoles)
    if (input.baseVersion > task.version) {
      throw new DomainError('BAD_REQUEST', `Task ${input.id} is at version ${task.version}; baseVersion ${input.baseVersion} does not exist yet`, { field: 'baseVersion' })
    }
    const patch = input.baseVersion === task.version ? input.patch : await mergeStalePatch(tx, task, conflictPolicy, input.baseVersion, input.patch)
    const changes = diffFields(task, patch)
    if (Object.keys(changes).length === 0) return task
    const updated: TaskDto = { ...task, version: task.version + 1, updatedAt: new Date() }
    for (const key of Object.keys(changes) as (keyof TaskPatch)[]) (updated as Record<string, unknown>)[key] = patch[key]
    if ('assigneeId' in changes) updated.assignee = patch.assigneeId ? await assignableUser(tx, task.projectId, patch.assigneeId) : null
    if (changes.status) {
      // A card changing column goes to its end; logged like a move's, so clients place it alike.
      updated.position = await endOfColumn(tx, task.projectId, updated.status, task.id)
      if (updated.position !== task.position) changes.position = { from: task.position, to: updated.position }
    }
    const data: Prisma.TaskUncheckedUpdateManyInput = { updatedById: userId, version: updated.version, updatedAt: updated.updatedAt }
    for (const key of Object.keys(changes) as (keyof TaskPatch | 'position')[]) (data as Record<string, unknown>)[key] = updated[key]
    // Guarded by the version the patch was merged onto: a writer that bypassed the lock makes this match no row.
    const { count } = await tx.task.updateMany({ where: { id: task.id, version: task.version }, data })
    if (count === 0) {
      const details: TaskConflictDetails<TaskDto> = { current: await loadTask(tx, userId, input.id), conflicts: [] }
      throw new DomainError('CONFLICT', `Task ${input.id} was changed by someone else while saving`, { ...details })
    }
    await appendEvent(tx, {
      projectId: task.projectId,
      type: 'task.updated',
      actorId: userId,
      entityType: 'task',
      entityId: task.id,
      data: { version: updated.version, changes: jsonChanges(changes) },
    })
    return updated
  })
}

/**
 * Moves a card to `status`, right after `afterId` (or right before `beforeId`, or to the end).
 * Neighbours are resolved on the server's current column, so two concurrent moves both land.
 */
export async function moveTask(db: Db, userId: string, input: Required<TaskMoveInput>) {
  return transaction(db, async (tx) => {
    const { task } = await loadTaskLocked(tx, userId, input.id, writerRoles)
    const column = (await tx.task.findMany({
      where: { projectId: task.projectId, status: input.status, deletedAt: null, id: { not: task.id } },
      select: { id: true, position: true, status: true },
    })).sort(compareTasks)
    let index = column.length
    if (input.afterId) {
      const i = column.findIndex(t => t.id === input.afterId)
      if (i === -1) throw new DomainError('BAD_REQUEST', `Task ${input.afterId} is not in column ${input.status}`, { field: 'afterId' })
      index = i + 1
    }
    else if (input.beforeId) {
      const i = column.findIndex(t => t.id === input.beforeId)
      if (i === -1) throw new DomainError('BAD_REQUEST', `Task ${input.beforeId} is not in column ${input.status}`, { field: 'beforeId' })
      index = i
    }
    const position = keyBetween(column[index - 1]?.position ?? null, column[index]?.position ?? null)
    if (position === task.position && input.status === task.status) return task
    const updated = await tx.task.update({
      where: { id: task.id },
      data: { status: input.status, position, version: { increment: 1 }, updatedById: userId },
      select: taskSelect,
    })
    await appendEvent(tx, {
      projectId: task.projectId,
      type: 'task.moved',
      actorId: userId,
      entityType: 'task',
      entityId: task.id,
      data: {
        version: updated.version,
        changes: {
          ...(task.status !== input.status ? { status: { from: task.status, to: input.status } } : {}),
          position: { from: task.position, to: position },
        },
      },
    })
    return updated
  })
}

/** A key strictly between two neighbours; neighbours that tie (after concurrent moves) fall back to below the upper one. */
export function keyBetween(lower: string | null, upper: string | null): string {
  if (lower !== null && upper !== null && lower >= upper) return generateKeyBetween(lower, null)
  return generateKeyBetween(lower, upper)
}

export async function deleteTask(db: Db, userId: string, id: string) {
  return transaction(db, async (tx) => {
    const { task } = await loadTaskLocked(tx, userId, id, writerRoles)
    await tx.task.update({ where: { id }, data: { deletedAt: new Date(), version: { increment: 1 }, updatedById: userId } })
    await appendEvent(tx, {
      projectId: task.projectId,
      type: 'task.deleted',
      actorId: userId,
      entityType: 'task',
      entityId: id,
      data: { version: task.version + 1, title: task.title },
    })
    return { id, projectId: task.projectId }
  })
}

/**
 * Undoes a delete (the "Undo" toast, Ctrl+Z): the task comes back as it was, in its old place, as a
 * new version with a `task.restored` event carrying the whole task (clients that dropped the card
 * show it again). An assignee who left the project meanwhile is not restored. Restoring a task that
 * is not deleted changes nothing and answers the task (a second click on "Undo").
 */
export async function restoreTask(db: Db, userId: string, id: string) {
  return transaction(db, async (tx) => {
    const [access] = await tx.$queryRaw<{ projectId: string, role: Role | null, deleted: boolean, assigneeMember: boolean }[]>`
      SELECT t."projectId", m."role"::text AS "role", t."deletedAt" IS NOT NULL AS "deleted",
        (t."assigneeId" IS NULL OR EXISTS (SELECT 1 FROM "ProjectMember" a WHERE a."projectId" = t."projectId" AND a."userId" = t."assigneeId")) AS "assigneeMember"
      FROM "Task" t
      JOIN "Project" p ON p."id" = t."projectId"
      LEFT JOIN "ProjectMember" m ON m."projectId" = t."projectId" AND m."userId" = ${userId}
      WHERE t."id" = ${id}
      FOR UPDATE OF p`
    if (!access?.role) throw notFound('Task', id)
    if (!writerRoles.includes(access.role)) throw new DomainError('FORBIDDEN', `Your role (${access.role}) cannot restore task ${id}`)
    if (!access.deleted) return (await readTaskForWrite(tx, id))!
    const task = await tx.task.update({
      where: { id },
      data: { deletedAt: null, version: { increment: 1 }, updatedById: userId, ...(access.assigneeMember ? {} : { assigneeId: null }) },
      select: taskSelect,
    })
    await appendEvent(tx, {
      projectId: task.projectId,
      type: 'task.restored',
      actorId: userId,
      entityType: 'task',
      entityId: id,
      data: { version: task.version, task: toEventTask(task) },
    })
    return task
  })
}

// --- search --------------------------------------------------------------------------------

/** The text search document of a task; the same expression as the GIN index "Task_search_idx" (its migration). */
const SEARCH_DOCUMENT = Prisma.sql`(setweight(to_tsvector('simple', t."title"), 'A') || setweight(to_tsvector('simple', t."description"), 'B'))`

/**
 * A prefix query for `to_tsquery('simple', …)`: every word of the input (letters and digits) must
 * start a word of the task ("log red" finds "Fix login redirect"). Null when the input has no word.
 * Words are made of letters and digits only, so nothing in them is tsquery syntax.
 */
export function prefixTsQuery(search: string): string | null {
  const words = search.toLowerCase().match(/[\p{L}\p{N}]+/gu)?.slice(0, 8)
  return words?.length ? words.map(w => `${w.slice(0, 64)}:*`).join(' & ') : null
}

export interface TaskSearchHit {
  id: string
  projectId: string
  projectKey: string
  projectName: string
  number: number
  title: string
  status: TaskStatus
  priority: TaskDto['priority']
  assigneeId: string | null
}

/**
 * Tasks of the caller's projects (or of one of them) whose title or description has every word of
 * `query` as a word prefix (PostgreSQL full text, the GIN index), or whose reference is `query`
 * ("WEB-12", or "12" within one project). Best matches first: the reference, then rank, then the
 * most recently updated. Non-members get nothing from a project (NOT_FOUND when they name it).
 */
export async function searchTasks(db: Db, userId: string, input: { query: string, projectId?: string, limit?: number }): Promise<TaskSearchHit[]> {
  const limit = input.limit ?? 20
  if (input.projectId) await requireRole(db, input.projectId, userId)
  const tsquery = prefixTsQuery(input.query)
  const number = taskNumberIn(input.query)
  const key = /^([a-z][a-z0-9]*)-\d+$/i.exec(input.query.trim())?.[1]?.toUpperCase() ?? null
  if (!tsquery && number === null) return []
  const scope = input.projectId ? Prisma.sql`AND t."projectId" = ${input.projectId}` : Prisma.empty
  // A bare number names a task only within one project; across projects it needs the key.
  const byRef = number === null || (!key && !input.projectId)
    ? Prisma.sql`FALSE`
    : key ? Prisma.sql`(t."number" = ${number} AND p."key" = ${key})` : Prisma.sql`t."number" = ${number}`
  const byText = tsquery ? Prisma.sql`${SEARCH_DOCUMENT} @@ to_tsquery('simple', ${tsquery})` : Prisma.sql`FALSE`
  const order = [
    ...(number === null ? [] : [Prisma.sql`(${byRef}) DESC`]),
    ...(tsquery ? [Prisma.sql`ts_rank(${SEARCH_DOCUMENT}, to_tsquery('simple', ${tsquery})) DESC`] : []),
    Prisma.sql`t."updatedAt" DESC`,
    Prisma.sql`t."id"`,
  ]
  return db.$queryRaw<TaskSearchHit[]>`
    SELECT t."id", t."projectId", p."key" AS "projectKey", p."name" AS "projectName", t."number", t."title",
      t."status"::text AS "status", t."priority"::text AS "priority", t."assigneeId"
    FROM "Task" t
    JOIN "Project" p ON p."id" = t."projectId"
    JOIN "ProjectMember" m ON m."projectId" = t."projectId" AND m."userId" = ${userId}
    WHERE t."deletedAt" IS NULL ${scope} AND (${byRef} OR ${byText})
    ORDER BY ${Prisma.join(order)}
    LIMIT ${limit}`
}

/** Ids of a project's tasks that the full-text search finds (for task.list's search box). */
async function textMatches(db: Db, projectId: string, search: string): Promise<string[]> {
  const tsquery = prefixTsQuery(search)
  if (!tsquery) return []
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT t."id" FROM "Task" t
    WHERE t."projectId" = ${projectId} AND t."deletedAt" IS NULL AND ${SEARCH_DOCUMENT} @@ to_tsquery('simple', ${tsquery})`
  return rows.map(r => r.id)
}

// --- comments ------------------------------------------------------------------------------

const commentSelect = {
  id: true,
  taskId: true,
  body: true,
  createdAt: true,
  author: { select: { id: true, username: true, name: true } },
} as const satisfies Prisma.CommentSelect

export async function listComments(db: Db, userId: string, taskId: string) {
  await loadTask(db, userId, taskId)
  return db.comment.findMany({ where: { taskId, deletedAt: null }, select: commentSelect, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
}

export async function createComment(db: Db, userId: string, input: CommentCreateInput) {
  return transaction(db, async (tx) => {
    const { task } = await loadTaskLocked(tx, userId, input.taskId, writerRoles)
    const comment = await tx.comment.create({
      data: { id: newId(), taskId: task.id, authorId: userId, body: input.body },
      select: commentSelect,
    })
    await appendEvent(tx, {
      projectId: task.projectId,
      type: 'comment.created',
      actorId: userId,
      entityType: 'comment',
      entityId: comment.id,
      data: { taskId: task.id, body: comment.body },
    })
    return comment
  })
}
