import { loginInput, registerInput } from '../../../shared/schemas/auth'
import { login, register } from '../../services/auth'
import { invalidateSession } from '../../services/session'
import { createWsTicket } from '../../services/wsTicket'
import { protectedProcedure, publicProcedure, router, sessionProcedure } from '../init'

export const authRouter = router({
  register: publicProcedure.input(registerInput).mutation(async ({ ctx, input }) => {
    const { user, session, token } = await register(ctx.db, input)
    ctx.setSessionCookie(token, session.expiresAt)
    return user
  }),

  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const { user, session, token } = await login(ctx.db, input, ctx.ip)
    // Rotate: a session that came with this request (fixation attempt or old login) ends here.
    if (ctx.session) await invalidateSession(ctx.db, ctx.session.id)
    ctx.setSessionCookie(token, session.expiresAt)
    return user
  }),

  logout: sessionProcedure.mutation(async ({ ctx }) => {
    await invalidateSession(ctx.db, ctx.session.id)
    ctx.clearSessionCookie()
    return { ok: true as const }
  }),

  me: publicProcedure.query(({ ctx }) => ctx.user),

  /** A 60-second ticket that authenticates a WebSocket as `connectionParams.token` (docs/websocket.md). */
  wsTicket: protectedProcedure.mutation(({ ctx }) => createWsTicket(ctx.db, ctx.user.id)),
})
