import { z } from 'zod'
import { idSchema, int4, roleSchema, seqStringSchema, text } from './common'
import { usernameSchema } from './auth'

export const projectNameSchema = text().trim().min(1, 'Required').max(80, 'At most 80 characters')
export const projectKeySchema = text()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z][A-Z0-9]{1,9}$/, '2–10 letters or digits, starting with a letter')

export const projectCreateInput = z.object({
  name: projectNameSchema,
  key: projectKeySchema.optional(),
  description: text().max(2000, 'At most 2000 characters').default(''),
})
export type ProjectCreateInput = z.infer<typeof projectCreateInput>

/**
 * What task.update does with a write based on an older version: `merge` applies the fields nobody
 * else changed (descriptions merge three-way) and answers CONFLICT for the rest; `lastWriteWins`
 * applies every field (the overwritten values stay in the event log).
 */
export const conflictPolicyValues = ['merge', 'lastWriteWins'] as const
export const conflictPolicySchema = z.enum(conflictPolicyValues)
export type ConflictPolicy = z.infer<typeof conflictPolicySchema>

export const projectUpdateInput = z.object({
  id: idSchema,
  name: projectNameSchema.optional(),
  description: text().max(2000, 'At most 2000 characters').optional(),
  conflictPolicy: conflictPolicySchema.optional(),
})
export type ProjectUpdateInput = z.infer<typeof projectUpdateInput>

export const projectIdInput = z.object({ projectId: idSchema })
export const byIdInput = z.object({ id: idSchema })

export const memberAddInput = z.object({
  projectId: idSchema,
  username: usernameSchema,
  role: roleSchema.default('MEMBER'),
})
export type MemberAddInput = z.infer<typeof memberAddInput>

export const memberUpdateRoleInput = z.object({
  projectId: idSchema,
  userId: idSchema,
  role: roleSchema,
})
export type MemberUpdateRoleInput = z.infer<typeof memberUpdateRoleInput>

export const memberRemoveInput = z.object({ projectId: idSchema, userId: idSchema })

/** A `tracked` id of project.onEvent: the seq of the last event the client has. */
export const eventSeqIdSchema = seqStringSchema('An event id is the decimal seq of an event')

export const projectOnEventInput = z.object({
  projectId: idSchema,
  lastEventId: eventSeqIdSchema.nullish(),
  /** 2 = compact event frames (docs/websocket.md, "Compact frames"); absent or 1 = the named form */
  wire: z.union([z.literal(1), z.literal(2)]).nullish(),
})
export type ProjectOnEventInput = z.infer<typeof projectOnEventInput>

/** The polling fallback of project.onEvent: the events after `lastEventId`, the same resume id. */
export const projectEventsSinceInput = z.object({
  projectId: idSchema,
  lastEventId: eventSeqIdSchema,
  limit: int4({ min: 1, max: 500 }).default(200),
})
export type ProjectEventsSinceInput = z.input<typeof projectEventsSinceInput>
