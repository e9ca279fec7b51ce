// Task writes (create, update, move, delete, restore) and reads by id. The list and its cache, search,
// the merge driver, board order and comments are modules of their own (task*.ts, comment.ts).
import { writerRoles, type Role, type TaskStatus } from '../../shared/schemas/common'
import type { TaskConflictDetails, TaskMoveInput, TaskPatch } from '../../shared/schemas/task'
import { Prisma } from '../generated/prisma/client'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { requireRole } from './access'
import { DomainError, notFound } from './errors'
import { appendEvent, diffFields, jsonChanges, transaction, writeWithEvent } from './events'
import { loadTask, loadTaskLocked, readTaskForWrite } from './taskAccess'
import { taskSelect, toEventTask, type TaskDto } from './taskDto'
import { mergeStalePatch } from './taskMerge'
import { compareTasks, endOfColumn, keyBetween } from './taskOrdering'

type TaskColumn = keyof TaskPatch | 'position'

/** A patched field's value as SQL, cast to its column's type: the columns updateTask may write. */
const taskColumnValue: { [K in TaskColumn]-?: (value: TaskDto[K]) => Prisma.Sql } = {
  title: value => Prisma.sql`${value}`,
  description: value => Prisma.sql`${value}`,
  status: value => Prisma.sql`${value}::"TaskStatus"`,
  priority: value => Prisma.sql`${value}::"Priority"`,
  assigneeId: value => Prisma.sql`${value}`,
  dueDate: value => Prisma.sql`${value}::timestamp(3)`,
  labels: value => Prisma.sql`${value}::text[]`,
  position: value => Prisma.sql`${value}`,
}

/** The user a task may be assigned to (a member of its project), as `TaskDto.assignee`; BAD_REQUEST otherwise. */
async function assignableUser(db: DbTx, projectId: string, assigneeId: string) {
  const user = await db.user.findFirst({ where: { id: assigneeId, memberships: { some: { projectId } } }, select: taskSelect.assignee.select })
  if (!user) throw new DomainError('BAD_REQUEST', `User ${assigneeId} is not a member of this project`, { field: 'assigneeId' })
  return user
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
    if (input.assigneeId) await assignableUser(tx, input.projectId, input.assigneeId)
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

/**
 * Applies a patch written against `baseVersion`. The current version: as is. An older one: merged
 * with what happened since (taskMerge.ts, by the rules of merge.ts), or CONFLICT with nothing applied. The project
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
    const sets = (Object.keys(changes) as TaskColumn[]).map(key => Prisma.sql`${Prisma.raw(`"${key}"`)} = ${taskColumnValue[key](updated[key] as never)}`)
    // The write and its event in one statement, guarded by the version the patch was merged onto
    // (the task row is locked since loadTaskLocked; the guard is a second line of defence).
    const event = await writeWithEvent(tx, Prisma.sql`
      UPDATE "Task" SET ${Prisma.join(sets)}, "updatedById" = ${userId}, "version" = ${updated.version}, "updatedAt" = ${updated.updatedAt}
      WHERE "id" = ${task.id} AND "version" = ${task.version}
      RETURNING 1`, {
      projectId: task.projectId,
      type: 'task.updated',
      actorId: userId,
      entityType: 'task',
      entityId: task.id,
      data: { version: updated.version, changes: jsonChanges(changes) },
    })
    if (!event) {
      const details: TaskConflictDetails<TaskDto> = { current: await loadTask(tx, userId, input.id), conflicts: [] }
      throw new DomainError('CONFLICT', `Task ${input.id} was changed by someone else while saving`, { ...details })
    }
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
    // Locks as loadTaskLocked does (project, then task; subqueries): a restore that waited behind
    // another sees the task restored and changes nothing.
    const [access] = await tx.$queryRaw<{ projectId: string, role: Role | null, deleted: boolean, assigneeMember: boolean }[]>`
      SELECT t."projectId", t."deletedAt" IS NOT NULL AS "deleted",
        (SELECT m."role"::text FROM "ProjectMember" m WHERE m."projectId" = t."projectId" AND m."userId" = ${userId}) AS "role",
        (t."assigneeId" IS NULL OR EXISTS (SELECT 1 FROM "ProjectMember" a WHERE a."projectId" = t."projectId" AND a."userId" = t."assigneeId")) AS "assigneeMember"
      FROM "Project" p
      JOIN "Task" t ON t."projectId" = p."id"
      WHERE t."id" = ${id}
      FOR NO KEY UPDATE OF p, t`
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
