// Comments of a task: read by anyone who may see the task, written by its writers.
import { writerRoles } from '../../shared/schemas/common'
import type { CommentCreateInput } from '../../shared/schemas/task'
import type { Prisma } from '../generated/prisma/client'
import type { Db } from '../utils/db'
import { newId } from '../utils/ids'
import { appendEvent, transaction } from './events'
import { loadTask, loadTaskLocked } from './taskAccess'

const commentSelect = {
  id: true,
  taskId: true,
  body: true,
  createdAt: true,
  author: { select: { id: true, username: true, name: true } },
} as const satisfies Prisma.CommentSelect

export async function listComments(db: Db, userId: string, taskId: string) {
  await loadTask(db, userId, taskId)
  return db.comment.findMany({ where: { taskId, deletedAt: null }, select: commentSelect, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
}

export async function createComment(db: Db, userId: string, input: CommentCreateInput) {
  return transaction(db, async (tx) => {
    const { task } = await loadTaskLocked(tx, userId, input.taskId, writerRoles)
    const comment = await tx.comment.create({
      data: { id: newId(), taskId: task.id, authorId: userId, body: input.body },
      select: commentSelect,
    })
    await appendEvent(tx, {
      projectId: task.projectId,
      type: 'comment.created',
      actorId: userId,
      entityType: 'comment',
      entityId: comment.id,
      data: { taskId: task.id, body: comment.body },
    })
    return comment
  })
}
