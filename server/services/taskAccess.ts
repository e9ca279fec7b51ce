// A task as reads and writes load it: access checked (and, for a write, the project locked), one statement each.
import type { Role } from '../../shared/schemas/common'
import { Prisma } from '../generated/prisma/client'
import type { ConflictPolicy } from '../../shared/schemas/project'
import type { DbTx } from '../utils/db'
import { checkRole, memberRole } from './access'
import { notFound } from './errors'
import { taskSelect, type TaskDto } from './taskDto'

/** A task the caller may see (member of its project, not deleted), with the caller's role. */
export async function loadTask(db: DbTx, userId: string, id: string, allowed?: readonly ('OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER')[]) {
  const task = await db.task.findUnique({ where: { id }, select: { ...taskSelect, deletedAt: true } })
  if (!task || task.deletedAt) throw notFound('Task', id)
  checkRole(await memberRole(db, task.projectId, userId), allowed, { what: 'Task', id })
  const { deletedAt: _, ...dto } = task
  return dto
}

/**
 * loadTask for a write: one statement checks access, takes the project lock and reads the task, so
 * the task read is the one the write applies to (every write of the project's tasks holds that lock
 * until it commits) and the logged `from` values are exact. Also answers the project's conflict
 * policy, read under the same lock.
 *
 * The task row is locked too (after the project, the order every writer takes them in): under READ
 * COMMITTED, a statement that waited for a lock re-reads only the rows it locks, so an unlocked task
 * would come back as it was before the write that held the lock. Role and assignee are subqueries,
 * evaluated again on that re-read (a joined, unlocked assignee row would stay the old one).
 * NO KEY UPDATE: writers still exclude each other, but rows that reference the project or the task
 * (notifications, comments) can be inserted meanwhile.
 */
export async function loadTaskLocked(tx: DbTx, userId: string, id: string, allowed: readonly Role[]) {
  const [row] = await tx.$queryRaw<(TaskRow & { role: Role | null, conflictPolicy: ConflictPolicy })[]>`
    SELECT ${taskColumns}, p."conflictPolicy"::text AS "conflictPolicy",
      (SELECT m."role"::text FROM "ProjectMember" m WHERE m."projectId" = t."projectId" AND m."userId" = ${userId}) AS "role"
    FROM "Project" p
    JOIN "Task" t ON t."projectId" = p."id"
    WHERE t."id" = ${id} AND t."deletedAt" IS NULL
    FOR NO KEY UPDATE OF p, t`
  checkRole(row?.role, allowed, { what: 'Task', id })
  return { task: toTaskDto(row!), conflictPolicy: row!.conflictPolicy }
}

type TaskRow = Omit<TaskDto, 'assignee'> & { deletedAt: Date | null, assigneeUsername: string | null, assigneeName: string | null }

/** The columns of `taskSelect` for a `Task t`, the assignee's by subquery (see loadTaskLocked). */
const taskColumns = Prisma.sql`t."id", t."projectId", t."number", t."title", t."description", t."status"::text AS "status",
  t."priority"::text AS "priority", t."assigneeId", t."dueDate", t."labels", t."position", t."version",
  t."createdById", t."createdAt", t."updatedAt", t."deletedAt",
  (SELECT u."username" FROM "User" u WHERE u."id" = t."assigneeId") AS "assigneeUsername",
  (SELECT u."name" FROM "User" u WHERE u."id" = t."assigneeId") AS "assigneeName"`

/** `taskSelect` of a task that is not deleted, in one statement (Prisma would read the assignee in a second one). */
export async function readTaskForWrite(tx: DbTx, id: string): Promise<TaskDto | null> {
  const [row] = await tx.$queryRaw<TaskRow[]>`SELECT ${taskColumns} FROM "Task" t WHERE t."id" = ${id}`
  return row && !row.deletedAt ? toTaskDto(row) : null
}

function toTaskDto(row: TaskRow): TaskDto {
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
