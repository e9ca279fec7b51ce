// A task as reads and writes load it: access checked (and, for a write, the project locked), one statement each.
import type { Role } from '../../shared/schemas/common'
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
 * loadTask for a write: checks access and takes the project lock in one statement, then reads the
 * task, so the task read is the one the write applies to (every write of the project's tasks holds
 * that lock until it commits) and the logged `from` values are exact. Also answers the project's
 * conflict policy, read under the same lock.
 */
export async function loadTaskLocked(tx: DbTx, userId: string, id: string, allowed: readonly Role[]) {
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
export async function readTaskForWrite(tx: DbTx, id: string): Promise<TaskDto | null> {
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
