import { byIdInput } from '../../../shared/schemas/project'
import { taskCreateInput, taskListInput, taskMoveInput, taskUpdateInput } from '../../../shared/schemas/task'
import { useDescriptionHub } from '../../collab/descriptionHub'
import { listMyTasks } from '../../services/myTasks'
import { createTask, deleteTask, getTask, moveTask, restoreTask, updateTask } from '../../services/task'
import { listTasks } from '../../services/taskList'
import { protectedProcedure, router } from '../init'

export const taskRouter = router({
  list: protectedProcedure.input(taskListInput).query(({ ctx, input }) => listTasks(ctx.db, ctx.user.id, input)),
  /** "My tasks": everything assigned to the caller across their projects. */
  mine: protectedProcedure.query(({ ctx }) => listMyTasks(ctx.db, ctx.user.id)),
  byId: protectedProcedure.input(byIdInput).query(({ ctx, input }) => getTask(ctx.db, ctx.user.id, input.id)),
  create: protectedProcedure.input(taskCreateInput).mutation(({ ctx, input }) => createTask(ctx.db, ctx.user.id, input)),
  update: protectedProcedure.input(taskUpdateInput).mutation(async ({ ctx, input }) => {
    const task = await updateTask(ctx.db, ctx.user.id, input)
    // A description set here becomes an edit of the live document (issue 17), so open editors see it.
    if (input.patch.description !== undefined) await useDescriptionHub().syncFromTask(ctx.db, task.id, task.description)
    return task
  }),
  move: protectedProcedure.input(taskMoveInput).mutation(({ ctx, input }) => moveTask(ctx.db, ctx.user.id, input)),
  delete: protectedProcedure.input(byIdInput).mutation(({ ctx, input }) => deleteTask(ctx.db, ctx.user.id, input.id)),
  restore: protectedProcedure.input(byIdInput).mutation(({ ctx, input }) => restoreTask(ctx.db, ctx.user.id, input.id)),
})
