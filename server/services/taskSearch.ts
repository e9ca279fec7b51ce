// Task search: the command palette's search across projects, and the full text behind task.list's search box.
import { INT4_MAX, type TaskStatus } from '../../shared/schemas/common'
import { Prisma } from '../generated/prisma/client'
import type { Db } from '../utils/db'
import { requireRole } from './access'
import type { TaskDto } from './taskDto'

/**
 * The task number a search names ("12" or "WEB-12"), or null. Only numbers a task can have: digits
 * only (not "1e3"), and within int4, so "WEB-99999999999" matches nothing instead of failing in SQL.
 */
export function taskNumberIn(search: string): number | null {
  const digits = /^(?:[a-z][a-z0-9]*-)?(\d{1,10})$/i.exec(search)?.[1]
  const number = digits === undefined ? Number.NaN : Number(digits)
  return number >= 1 && number <= INT4_MAX ? number : null
}

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
  const refSearch = number !== null && Boolean(key || input.projectId)
  const byRef = !refSearch
    ? Prisma.sql`FALSE`
    : key ? Prisma.sql`(t."number" = ${number} AND p."key" = ${key})` : Prisma.sql`t."number" = ${number}`
  const byText = tsquery ? Prisma.sql`${SEARCH_DOCUMENT} @@ to_tsquery('simple', ${tsquery})` : Prisma.sql`FALSE`
  const order = [
    // Only a real reference test: PostgreSQL refuses a constant (`FALSE`) in ORDER BY.
    ...(refSearch ? [Prisma.sql`(${byRef}) DESC`] : []),
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
export async function textMatches(db: Db, projectId: string, search: string): Promise<string[]> {
  const tsquery = prefixTsQuery(search)
  if (!tsquery) return []
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT t."id" FROM "Task" t
    WHERE t."projectId" = ${projectId} AND t."deletedAt" IS NULL AND ${SEARCH_DOCUMENT} @@ to_tsquery('simple', ${tsquery})`
  return rows.map(r => r.id)
}
