import { byIdInput } from '../../../shared/schemas/project'
import { taskCreateInput, taskListInput, taskMoveInput, taskUpdateInput } from '../../../shared/schemas/task'
import { createTask, deleteTask, getTask, listTasks, moveTask, restoreTask, updateTask } from '../../services/task'
import { listMyTasks } from '../../services/myTasks'
import { protectedProcedure, router } from '../init'

export const taskRouter = router({
  list: protectedProcedure.input(taskListInput).query(({ ctx, input }) => listTasks(ctx.db, ctx.user.id, input)),
  /** "My tasks": everything assigned to the caller across their projects. */
  mine: protectedProcedure.query(({ ctx }) => listMyTasks(ctx.db, ctx.user.id)),
  byId: protectedProcedure.input(byIdInput).query(({ ctx, input }) => getTask(ctx.db, ctx.user.id, input.id)),
  create: protectedProcedure.input(taskCreateInput).mutation(({ ctx, input }) => createTask(ctx.db, ctx.user.id, input)),
  update: protectedProcedure.input(taskUpdateInput).mutation(({ ctx, input }) => updateTask(ctx.db, ctx.user.id, input)),
  move: protectedProcedure.input(taskMoveInput).mutation(({ ctx, input }) => moveTask(ctx.db, ctx.user.id, input)),
  delete: protectedProcedure.input(byIdInput).mutation(({ ctx, input }) => deleteTask(ctx.db, ctx.user.id, input.id)),
  restore: protectedProcedure.input(byIdInput).mutation(({ ctx, input }) => restoreTask(ctx.db, ctx.user.id, input.id)),
})
