import { commentCreateInput, commentListInput } from '../../../shared/schemas/task'
import { createComment, listComments } from '../../services/comment'
import { protectedProcedure, router } from '../init'

export const commentRouter = router({
  list: protectedProcedure.input(commentListInput).query(({ ctx, input }) => listComments(ctx.db, ctx.user.id, input.taskId)),
  create: protectedProcedure.input(commentCreateInput).mutation(({ ctx, input }) => createComment(ctx.db, ctx.user.id, input)),
})
