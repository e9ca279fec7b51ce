import { activityListInput } from '../../../shared/schemas/activity'
import { listActivity } from '../../services/activity'
import { protectedProcedure, router } from '../init'

export const activityRouter = router({
  /** The project's event log as a feed, newest first (see docs/api.md). */
  list: protectedProcedure.input(activityListInput).query(({ ctx, input }) => listActivity(ctx.db, ctx.user.id, input)),
})
