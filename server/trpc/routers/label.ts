import { byIdInput } from '../../../shared/schemas/project'
import { labelCreateInput, labelListInput, labelUpdateInput } from '../../../shared/schemas/label'
import { createLabel, deleteLabel, listLabels, updateLabel } from '../../services/label'
import { protectedProcedure, router } from '../init'

export const labelRouter = router({
  list: protectedProcedure.input(labelListInput).query(({ ctx, input }) => listLabels(ctx.db, ctx.user.id, input.projectId)),
  create: protectedProcedure.input(labelCreateInput).mutation(({ ctx, input }) => createLabel(ctx.db, ctx.user.id, input)),
  update: protectedProcedure.input(labelUpdateInput).mutation(({ ctx, input }) => updateLabel(ctx.db, ctx.user.id, input)),
  delete: protectedProcedure.input(byIdInput).mutation(({ ctx, input }) => deleteLabel(ctx.db, ctx.user.id, input.id)),
})
