import { byIdInput, projectCreateInput, projectOnEventInput, projectUpdateInput } from '../../../shared/schemas/project'
import { supportsDirectFanout } from '../../realtime/fanout'
import { openProjectEventStream } from '../../realtime/projectStream'
import { createProject, getProject, listProjects, updateProject } from '../../services/project'
import { protectedProcedure, router } from '../init'

export const projectRouter = router({
  list: protectedProcedure.query(({ ctx }) => listProjects(ctx.db, ctx.user.id)),
  byId: protectedProcedure.input(byIdInput).query(({ ctx, input }) => getProject(ctx.db, ctx.user.id, input.id)),
  create: protectedProcedure.input(projectCreateInput).mutation(({ ctx, input }) => createProject(ctx.db, ctx.user.id, input)),
  update: protectedProcedure.input(projectUpdateInput).mutation(({ ctx, input }) => updateProject(ctx.db, ctx.user.id, input)),
  /** Durable project events over the WebSocket; tracked ids are seqs (see docs/websocket.md). */
  onEvent: protectedProcedure
    .input(projectOnEventInput)
    .subscription(({ ctx, input, signal }) => openProjectEventStream(ctx.db, ctx.user.id, input, signal, { direct: supportsDirectFanout(ctx) })),
})
