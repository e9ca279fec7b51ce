import { pushListInput, pushRemoveInput, pushSubscribeInput, pushUnsubscribeInput } from '../../../shared/schemas/push'
import { listDevices, removeDevice, subscribe, unsubscribe } from '../../push/devices'
import { vapidKeys } from '../../push/vapid'
import { protectedProcedure, publicProcedure, router } from '../init'

/** Web Push devices (docs/push.md). Each acts on the caller's own subscriptions only. */
export const pushRouter = router({
  /** The VAPID public key browsers subscribe with (applicationServerKey). */
  publicKey: publicProcedure.query(async ({ ctx }) => ({ publicKey: (await vapidKeys.get(ctx.db)).publicKey })),
  subscribe: protectedProcedure.input(pushSubscribeInput).mutation(({ ctx, input }) => subscribe(ctx.db, ctx.user.id, input)),
  unsubscribe: protectedProcedure.input(pushUnsubscribeInput).mutation(({ ctx, input }) => unsubscribe(ctx.db, ctx.user.id, input.endpoint)),
  /** The caller's devices; passing this browser's endpoint marks it as "this device". */
  list: protectedProcedure.input(pushListInput).query(({ ctx, input }) => listDevices(ctx.db, ctx.user.id, input?.endpoint)),
  remove: protectedProcedure.input(pushRemoveInput).mutation(({ ctx, input }) => removeDevice(ctx.db, ctx.user.id, input.id)),
})
