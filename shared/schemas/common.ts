import { z } from 'zod'

/** Ids are opaque strings generated on the server (see server/utils/ids.ts). */
export const idSchema = z.string().trim().min(1, 'Required').max(64, 'Too long')

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
