import { z } from 'zod'
import {
  detectTimeZoneInput,
  digestPreviewInput,
  digestUpdateInput,
  muteInput,
  notificationArchiveInput,
  notificationEventsSinceInput,
  notificationListInput,
  notificationMarkReadInput,
  notificationOnEventInput,
  notificationPreferencesUpdateInput,
  unmuteInput,
  unsubscribeInput,
  watchInput,
} from '../../../shared/schemas/notification'
import { detectTimeZone, digestPreview, getDigestSettings, mailOrigin, sendTestEmail, unsubscribeWithToken, updateDigestSettings } from '../../email/settings'
import {
  archive,
  getPreferences,
  listMutes,
  listNotifications,
  markAllRead,
  markRead,
  markTaskRead,
  mute,
  setWatching,
  unmute,
  unreadCount,
  updatePreferences,
  watchStatus,
} from '../../notifications/service'
import { notificationEventsSince, openNotificationStream } from '../../notifications/stream'
import { protectedProcedure, publicProcedure, router } from '../init'

export const notificationRouter = router({
  list: protectedProcedure.input(notificationListInput).query(({ ctx, input }) => listNotifications(ctx.db, ctx.user.id, input)),
  unreadCount: protectedProcedure.query(({ ctx }) => unreadCount(ctx.db, ctx.user.id)),
  markRead: protectedProcedure.input(notificationMarkReadInput).mutation(({ ctx, input }) => markRead(ctx.db, ctx.user.id, input.ids, input.read)),
  /** Marks read what concerns a task the user just opened. */
  markTaskRead: protectedProcedure.input(watchInput).mutation(({ ctx, input }) => markTaskRead(ctx.db, ctx.user.id, input.taskId)),
  markAllRead: protectedProcedure.mutation(({ ctx }) => markAllRead(ctx.db, ctx.user.id)),
  archive: protectedProcedure.input(notificationArchiveInput).mutation(({ ctx, input }) => archive(ctx.db, ctx.user.id, input.ids, input.archived)),
  preferences: router({
    get: protectedProcedure.query(({ ctx }) => getPreferences(ctx.db, ctx.user.id)),
    update: protectedProcedure.input(notificationPreferencesUpdateInput).mutation(({ ctx, input }) => updatePreferences(ctx.db, ctx.user.id, input)),
  }),
  mutes: protectedProcedure.query(({ ctx }) => listMutes(ctx.db, ctx.user.id)),
  mute: protectedProcedure.input(muteInput).mutation(({ ctx, input }) => mute(ctx.db, ctx.user.id, input)),
  unmute: protectedProcedure.input(unmuteInput).mutation(({ ctx, input }) => unmute(ctx.db, ctx.user.id, input.id)),
  watchStatus: protectedProcedure.input(watchInput).query(({ ctx, input }) => watchStatus(ctx.db, ctx.user.id, input.taskId)),
  watch: protectedProcedure.input(watchInput).mutation(({ ctx, input }) => setWatching(ctx.db, ctx.user.id, input.taskId, true)),
  unwatch: protectedProcedure.input(watchInput).mutation(({ ctx, input }) => setWatching(ctx.db, ctx.user.id, input.taskId, false)),
  /** Settings → Email: digests, time zone, preview and test email (docs/email.md). */
  digest: router({
    get: protectedProcedure.query(({ ctx }) => getDigestSettings(ctx.db, ctx.user.id)),
    update: protectedProcedure.input(digestUpdateInput).mutation(({ ctx, input }) => updateDigestSettings(ctx.db, ctx.user.id, input)),
    preview: protectedProcedure.input(digestPreviewInput).query(({ ctx, input }) => digestPreview(ctx.db, ctx.user.id, input.period, mailOrigin())),
    sendTest: protectedProcedure.mutation(({ ctx }) => sendTestEmail(ctx.db, ctx.user.id, mailOrigin())),
    /** The browser's time zone after sign-in (kept unless the user chose one). */
    detectTimeZone: protectedProcedure.input(detectTimeZoneInput).mutation(({ ctx, input }) => detectTimeZone(ctx.db, ctx.user.id, input.timeZone)),
  }),
  /** The unsubscribe page: a signed link, no sign-in. `subscribed: true` turns the email back on. */
  unsubscribe: publicProcedure
    .input(unsubscribeInput.extend({ subscribed: z.boolean().default(false) }))
    .mutation(({ ctx, input }) => unsubscribeWithToken(ctx.db, input.token, input.subscribed)),
  /** The signed-in user's notifications over the WebSocket, or SSE as the fallback; tracked ids are per-user seqs (docs/notifications.md). */
  onEvent: protectedProcedure
    .input(notificationOnEventInput)
    .subscription(({ ctx, input, signal }) => ctx.services.sseStreams.serve(ctx, signal, stop => openNotificationStream(ctx.db, ctx.user.id, input, stop))),
  /** The polling fallback of onEvent: what changed after a resume id (docs/websocket.md, "Fallback transports"). */
  eventsSince: protectedProcedure.input(notificationEventsSinceInput).query(({ ctx, input }) => notificationEventsSince(ctx.db, ctx.user.id, input)),
})
