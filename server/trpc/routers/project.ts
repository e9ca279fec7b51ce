import { byIdInput, projectCreateInput, projectUpdateInput } from '../../../shared/schemas/project'
import { createProject, getProject, listProjects, updateProject } from '../../services/project'
import { protectedProcedure, router } from '../init'

export const projectRouter = router({
  list: protectedProcedure.query(({ ctx }) => listProjects(ctx.db, ctx.user.id)),
  byId: protectedProcedure.input(byIdInput).query(({ ctx, input }) => getProject(ctx.db, ctx.user.id, input.id)),
  create: protectedProcedure.input(projectCreateInput).mutation(({ ctx, input }) => createProject(ctx.db, ctx.user.id, input)),
  update: protectedProcedure.input(projectUpdateInput).mutation(({ ctx, input }) => updateProject(ctx.db, ctx.user.id, input)),
})
