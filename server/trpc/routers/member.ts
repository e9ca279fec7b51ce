import { memberAddInput, memberRemoveInput, memberUpdateRoleInput, projectIdInput } from '../../../shared/schemas/project'
import { addMember, leaveProject, listMembers, removeMember, updateMemberRole } from '../../services/project'
import { protectedProcedure, router } from '../init'

export const memberRouter = router({
  list: protectedProcedure.input(projectIdInput).query(({ ctx, input }) => listMembers(ctx.db, ctx.user.id, input.projectId)),
  add: protectedProcedure.input(memberAddInput).mutation(({ ctx, input }) => addMember(ctx.db, ctx.user.id, input)),
  updateRole: protectedProcedure.input(memberUpdateRoleInput).mutation(({ ctx, input }) => updateMemberRole(ctx.db, ctx.user.id, input)),
  remove: protectedProcedure.input(memberRemoveInput).mutation(async ({ ctx, input }) => {
    await removeMember(ctx.db, ctx.user.id, input)
    return input
  }),
  leave: protectedProcedure.input(projectIdInput).mutation(async ({ ctx, input }) => {
    await leaveProject(ctx.db, ctx.user.id, input.projectId)
    return input
  }),
})
