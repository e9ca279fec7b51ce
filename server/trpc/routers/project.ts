import { byIdInput, projectCreateInput, projectEventsSinceInput, projectOnEventInput, projectUpdateInput } from '../../../shared/schemas/project'
import { supportsDirectFanout } from '../../realtime/fanout'
import { openProjectEventStream, projectEventsSince } from '../../realtime/projectStream'
import { createProject, getProject, listProjects, updateProject } from '../../services/project'
import { protectedProcedure, router } from '../init'

export const projectRouter = router({
  list: protectedProcedure.query(({ ctx }) => listProjects(ctx.db, ctx.user.id)),
  byId: protectedProcedure.input(byIdInput).query(({ ctx, input }) => getProject(ctx.db, ctx.user.id, input.id)),
  create: protectedProcedure.input(projectCreateInput).mutation(({ ctx, input }) => createProject(ctx.db, ctx.user.id, input)),
  update: protectedProcedure.input(projectUpdateInput).mutation(({ ctx, input }) => updateProject(ctx.db, ctx.user.id, input)),
  /** Durable project events over the WebSocket, or SSE as the fallback; tracked ids are seqs (see docs/websocket.md). */
  onEvent: protectedProcedure
    .input(projectOnEventInput)
    .subscription(({ ctx, input, signal }) => ctx.services.sseStreams.serve(ctx, signal, stop => openProjectEventStream(ctx.db, ctx.user.id, input, stop, { direct: supportsDirectFanout(ctx) }))),
  /** The polling fallback of onEvent: the events after a resume id (docs/websocket.md, "Fallback transports"). */
  eventsSince: protectedProcedure.input(projectEventsSinceInput).query(({ ctx, input }) => projectEventsSince(ctx.db, ctx.user.id, input)),
})
