import { z } from 'zod'
import { idSchema, int4 } from './common'
import { eventSeqIdSchema } from './project'
import type { ChangeActor } from './task'

export const activityListInput = z.object({
  projectId: idSchema,
  /** only this task's events and its comments' events */
  taskId: idSchema.optional(),
  /** `nextCursor` of the previous page: entries older than this seq */
  cursor: eventSeqIdSchema.nullish(),
  limit: int4({ min: 1, max: 100 }).default(50),
})
export type ActivityListInput = z.input<typeof activityListInput>

export type ActivityTargetKind = 'task' | 'comment' | 'member' | 'project' | 'label'

/** What an entry is about. For tasks and comments `key` is the task's reference, e.g. "WEB-12". */
export interface ActivityTarget {
  kind: ActivityTargetKind
  id: string
  /** the task itself, or the task a comment is on */
  taskId: string | null
  /** the task's current title, the member's name or the project's name */
  title: string | null
  /** "WEB-12" for tasks and comments, the project key for the project, null for members */
  key: string | null
}

/** One field change; values are as logged (JSON: dates are ISO strings). */
export interface ActivityChange {
  field: string
  from: unknown
  to: unknown
}

/** One entry of the activity feed: one logged event. */
export interface ActivityItem {
  seq: number
  at: Date
  /** `ProjectEvent.type`, e.g. task.updated */
  type: string
  actor: ChangeActor | null
  target: ActivityTarget
  changes: ActivityChange[]
}

export interface ActivityPage {
  /** newest first */
  items: ActivityItem[]
  /** pass as `cursor` for the next (older) page; null on the last page */
  nextCursor: string | null
}
