import { loginInput, registerInput } from '../../../shared/schemas/auth'
import { login, register } from '../../services/auth'
import { invalidateSession } from '../../services/session'
import { DEVICE_COOKIE } from '../../services/signInLimits'
import { createWsTicket } from '../../services/wsTicket'
import { protectedProcedure, publicProcedure, router, sessionProcedure } from '../init'

export const authRouter = router({
  register: publicProcedure.input(registerInput).mutation(async ({ ctx, input }) => {
    const { user, session, token, device } = await register(ctx.db, input, { ip: ctx.ip })
    ctx.setSessionCookie(token, session.expiresAt)
    ctx.cookies.set(DEVICE_COOKIE, device.value, { expires: device.expiresAt })
    return user
  }),

  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const { user, session, token, device } = await login(ctx.db, input, { ip: ctx.ip, deviceCookie: ctx.cookies.get(DEVICE_COOKIE) })
    // Rotate: a session that came with this request (fixation attempt or old login) ends here.
    if (ctx.session) await invalidateSession(ctx.db, ctx.session.id)
    ctx.setSessionCookie(token, session.expiresAt)
    // This browser is now a trusted device of the account (a fresh nonce each time).
    ctx.cookies.set(DEVICE_COOKIE, device.value, { expires: device.expiresAt })
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
