import type { LabelColor, LabelDto } from '../../shared/schemas/label'
import type { Db } from '../utils/db'
import { taskListSelect, type TaskListItem } from './taskDto'
import { compareTasks } from './taskOrdering'

/** A project of the caller's, as "My tasks" needs it: its key for task refs and the seq to stream from. */
export interface MyTasksProject {
  id: string
  key: string
  name: string
  eventSeq: number
}

export interface MyTasks {
  projects: MyTasksProject[]
  tasks: TaskListItem[]
  /** the labels of those projects, for the chips' colours */
  labels: LabelDto[]
}

/**
 * Every task assigned to the caller in the projects they are a member of (a task left assigned in a
 * project they have left is not theirs to see), with each project's event seq read before the tasks:
 * streaming each project from it misses nothing committed after the read.
 */
export async function listMyTasks(db: Db, userId: string): Promise<MyTasks> {
  const memberships = await db.projectMember.findMany({
    where: { userId },
    select: { project: { select: { id: true, key: true, name: true, eventSeq: true } } },
    orderBy: { project: { name: 'asc' } },
  })
  const projects = memberships.map(m => m.project)
  if (!projects.length) return { projects, tasks: [], labels: [] }
  const projectIds = projects.map(p => p.id)
  const [tasks, labels] = await Promise.all([
    db.task.findMany({ where: { assigneeId: userId, deletedAt: null, projectId: { in: projectIds } }, select: taskListSelect }),
    db.label.findMany({ where: { projectId: { in: projectIds } }, select: { id: true, projectId: true, name: true, color: true } }),
  ])
  return { projects, tasks: tasks.sort(compareTasks), labels: labels.map(l => ({ ...l, color: l.color as LabelColor })) }
}
