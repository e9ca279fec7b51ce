import { z } from 'zod'

// --- what PostgreSQL can store ------------------------------------------------------------------
// Every string, number and date of an input passes one of these, so nothing a client sends fails
// in the database (a 500) instead of in validation (a 400 with a field error).

export const textMessages = {
  nul: 'Text cannot contain NUL characters',
  surrogate: 'Text contains an invalid character (a lone UTF-16 surrogate)',
} as const

/** With the `u` flag a surrogate pair is one code point, so this matches only a lone surrogate. */
const loneSurrogate = /[\uD800-\uDFFF]/u

/**
 * The string every input string starts from: refuses NUL characters (PostgreSQL text and jsonb
 * cannot hold them) and lone UTF-16 surrogates (no UTF-8 form: stored as U+FFFD, or refused in
 * jsonb), with a readable message. Chain as usual: `text().trim().min(1).max(80)`.
 */
export function text() {
  return z
    .string()
    .refine(value => !value.includes('\u0000'), textMessages.nul)
    .refine(value => !loneSurrogate.test(value), textMessages.surrogate)
}

/** PostgreSQL `integer` (int4), which every integer column and seq is. */
export const INT4_MIN = -2_147_483_648
export const INT4_MAX = 2_147_483_647

/** A whole number an `integer` column holds, within `min`–`max` when given (clamped to int4). */
export function int4(range: { min?: number, max?: number } = {}) {
  const min = Math.max(range.min ?? INT4_MIN, INT4_MIN)
  const max = Math.min(range.max ?? INT4_MAX, INT4_MAX)
  return z.number({ error: 'Expected a number' }).int('Must be a whole number').min(min, `At least ${min}`).max(max, `At most ${max}`)
}

/** A seq sent as a decimal string (a `tracked` id or a cursor): digits only, within int4. */
export function seqStringSchema(message: string) {
  return text().regex(/^\d{1,10}$/, message).refine(value => Number(value) <= INT4_MAX, message)
}

/**
 * Dates PostgreSQL's `timestamp` holds (4713 BC – 294276 AD) and every client can print as an ISO
 * date: years 1–9999. Strings and numbers are coerced like `z.coerce.date()`.
 */
export const DATE_MIN = new Date('0001-01-01T00:00:00.000Z')
export const DATE_MAX = new Date('9999-12-31T23:59:59.999Z')
export const dateRangeMessage = 'Date must be between the years 1 and 9999'

export function pgDate() {
  return z.coerce.date({ error: 'Enter a valid date' }).min(DATE_MIN, dateRangeMessage).max(DATE_MAX, dateRangeMessage)
}

/** Ids are opaque strings generated on the server (see server/utils/ids.ts). */
export const idSchema = text().trim().min(1, 'Required').max(64, 'Too long')

export const roleValues = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'] as const
export const roleSchema = z.enum(roleValues)
export type Role = z.infer<typeof roleSchema>

export const taskStatusValues = ['TODO', 'IN_PROGRESS', 'IN_REVIEW', 'DONE'] as const
export const taskStatusSchema = z.enum(taskStatusValues)
export type TaskStatus = z.infer<typeof taskStatusSchema>

export const priorityValues = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'URGENT'] as const
export const prioritySchema = z.enum(priorityValues)
export type Priority = z.infer<typeof prioritySchema>

export const statusLabels: Record<TaskStatus, string> = {
  TODO: 'To do',
  IN_PROGRESS: 'In progress',
  IN_REVIEW: 'In review',
  DONE: 'Done',
}

export const priorityLabels: Record<Priority, string> = {
  NONE: 'No priority',
  LOW: 'Low',
  MEDIUM: 'Medium',
  HIGH: 'High',
  URGENT: 'Urgent',
}

export const roleLabels: Record<Role, string> = {
  OWNER: 'Owner',
  ADMIN: 'Admin',
  MEMBER: 'Member',
  VIEWER: 'Viewer',
}

/** Roles allowed to manage members and project settings. */
export const managerRoles: readonly Role[] = ['OWNER', 'ADMIN']
/** Roles allowed to write tasks and comments. */
export const writerRoles: readonly Role[] = ['OWNER', 'ADMIN', 'MEMBER']
