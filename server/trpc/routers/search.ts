import { searchTasksInput } from '../../../shared/schemas/search'
import { searchTasks } from '../../services/taskSearch'
import { protectedProcedure, router } from '../init'

export const searchRouter = router({
  tasks: protectedProcedure.input(searchTasksInput).query(({ ctx, input }) => searchTasks(ctx.db, ctx.user.id, input)),
})
