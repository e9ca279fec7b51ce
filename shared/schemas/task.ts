import { z } from 'zod'
import { idSchema, int4, pgDate, prioritySchema, taskStatusSchema, text } from './common'

/** Longer titles are refused, never cut: forms count towards this and say when it is passed. */
export const TASK_TITLE_MAX = 200
export const taskTitleSchema = text().trim().min(1, 'Required').max(TASK_TITLE_MAX, `At most ${TASK_TITLE_MAX} characters`)
export const taskDescriptionSchema = text().max(20000, 'At most 20000 characters')
export const labelSchema = text().trim().min(1, 'Empty label').max(32, 'Labels are at most 32 characters')
export const labelsSchema = z
  .array(labelSchema)
  .max(10, 'At most 10 labels')
  .transform(labels => [...new Set(labels)])
/** A fractional index key (fractional-indexing's alphabet). */
export const positionSchema = text().min(1).max(128).regex(/^[0-9A-Za-z]+$/, 'Invalid position')

export const taskCreateInput = z.object({
  projectId: idSchema,
  title: taskTitleSchema,
  description: taskDescriptionSchema.default(''),
  status: taskStatusSchema.default('TODO'),
  priority: prioritySchema.default('NONE'),
  assigneeId: idSchema.nullable().default(null),
  dueDate: pgDate().nullable().default(null),
  labels: labelsSchema.default([]),
})
export type TaskCreateInput = z.input<typeof taskCreateInput>

export const taskPatchSchema = z
  .object({
    title: taskTitleSchema,
    description: taskDescriptionSchema,
    status: taskStatusSchema,
    priority: prioritySchema,
    assigneeId: idSchema.nullable(),
    dueDate: pgDate().nullable(),
    labels: labelsSchema,
  })
  .partial()
  .refine(patch => Object.keys(patch).length > 0, { message: 'Nothing to change' })
export type TaskPatch = z.infer<typeof taskPatchSchema>

export const taskUpdateInput = z.object({
  id: idSchema,
  baseVersion: int4({ min: 1 }),
  patch: taskPatchSchema,
})
export type TaskUpdateInput = z.input<typeof taskUpdateInput>

/** Who made a change (null when their account is gone). */
export interface ChangeActor {
  id: string
  username: string
  name: string
}

/** One field that task.update could not merge: its value at the writer's base version, now, and in the patch. */
export interface TaskFieldConflict {
  field: string
  base: unknown
  /** the current value and the latest logged write that changed it */
  theirs: { value: unknown, actor: ChangeActor | null, at: Date }
  mine: unknown
}

/** `data.details` of a task.update CONFLICT; `current` is the task as task.byId returns it. */
export interface TaskConflictDetails<Task = unknown> {
  current: Task
  conflicts: TaskFieldConflict[]
}

/** Move a task into `status`, between two neighbours (ids of the cards that will be above/below it). */
export const taskMoveInput = z.object({
  id: idSchema,
  status: taskStatusSchema,
  afterId: idSchema.nullable().default(null),
  beforeId: idSchema.nullable().default(null),
})
export type TaskMoveInput = z.input<typeof taskMoveInput>

export const taskListInput = z.object({
  projectId: idSchema,
  status: z.array(taskStatusSchema).max(4).optional(),
  assigneeId: idSchema.nullable().optional(),
  label: labelSchema.optional(),
  search: text().trim().max(200).optional(),
})
export type TaskListInput = z.input<typeof taskListInput>

export const commentCreateInput = z.object({
  taskId: idSchema,
  body: text().trim().min(1, 'Write something first').max(10000, 'At most 10000 characters'),
})
export type CommentCreateInput = z.infer<typeof commentCreateInput>

export const commentListInput = z.object({ taskId: idSchema })
