import { z } from 'zod'
import { idSchema } from './common'

export const presenceStatusValues = ['available', 'away', 'dnd'] as const
export const presenceStatusSchema = z.enum(presenceStatusValues)
export type PresenceStatusInput = z.infer<typeof presenceStatusSchema>

export const presenceOnProjectInput = z.object({ projectId: idSchema })

export const presenceUpdateInput = z.object({
  projectId: idSchema,
  /** the task open in this tab; null = none */
  taskId: idSchema.nullable().optional(),
  /** this tab is idle or hidden */
  idle: z.boolean().optional(),
})

export const presenceTypingInput = z.object({
  projectId: idSchema,
  taskId: idSchema,
  field: z.enum(['description', 'comment']),
})

export const presenceSetStatusInput = z.object({ status: presenceStatusSchema })
