import type { Prisma } from '../generated/prisma/client'
import { toJson } from './events'

/** A task as the API answers it: every field a client shows, with the assignee's name. */
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

/** What a board card or list row needs: no description, so a 1,000-task board stays small. */
const { description: _description, createdById: _createdById, createdAt: _createdAt, ...taskListFields } = taskSelect
export const taskListSelect = taskListFields satisfies Prisma.TaskSelect

export type TaskListItem = Prisma.TaskGetPayload<{ select: typeof taskListSelect }>

/** The task as `task.created` and `task.restored` events carry it: JSON, without the assignee object. */
export function toEventTask(task: TaskDto) {
  const { assignee: _, ...rest } = task
  return toJson(rest)
}
