import { descriptionPushInput, descriptionSubscribeInput } from '../../../shared/schemas/description'
import { openDescriptionStream, pushToDescription } from '../../collab/descriptionStream'
import { protectedProcedure, router } from '../init'

/** A task's description edited together (Yjs): see docs/websocket.md "Live description". */
export const descriptionRouter = router({
  /**
   * The task's description document: first `sync` (what the client lacks against its state vector,
   * the server's state vector, the other tabs' cursors, whether it may write), then `update` and
   * `awareness` messages from every tab on every instance. Members of the task's project only.
   */
  onDoc: protectedProcedure.input(descriptionSubscribeInput).subscription(({ ctx, input, signal }) => openDescriptionStream(ctx.db, ctx.user.id, input, signal)),
  /** A Yjs update (members; viewers get FORBIDDEN) and/or this tab's awareness; answers once the update is stored. */
  push: protectedProcedure.input(descriptionPushInput).mutation(({ ctx, input }) => pushToDescription(ctx.db, ctx.user.id, input)),
})
