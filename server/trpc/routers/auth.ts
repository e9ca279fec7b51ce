import { changePasswordInput, loginInput, registerInput } from '../../../shared/schemas/auth'
import { login, register } from '../../services/auth'
import { changePassword } from '../../services/password'
import { invalidateSession } from '../../services/session'
import { DEVICE_COOKIE } from '../../services/signInLimits'
import { createWsTicket } from '../../services/wsTicket'
import { httpProtectedProcedure, httpPublicProcedure, httpSessionProcedure } from '../httpOnly'
import { publicProcedure, router } from '../init'

// Everything here that sets, mints or ends a credential is HTTP-only (server/trpc/httpOnly.ts).
export const authRouter = router({
  register: httpPublicProcedure.input(registerInput).mutation(async ({ ctx, input }) => {
    const { user, session, token, device } = await register(ctx.db, input, { ip: ctx.ip })
    ctx.setSessionCookie(token, session.expiresAt)
    ctx.cookies.set(DEVICE_COOKIE, device.value, { expires: device.expiresAt })
    return user
  }),

  login: httpPublicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const { user, session, token, device } = await login(ctx.db, input, { ip: ctx.ip, deviceCookie: ctx.cookies.get(DEVICE_COOKIE) })
    // Rotate: a session that came with this request (fixation attempt or old login) ends here.
    if (ctx.session) await invalidateSession(ctx.db, ctx.session.id)
    ctx.setSessionCookie(token, session.expiresAt)
    // This browser is now a trusted device of the account (a fresh nonce each time).
    ctx.cookies.set(DEVICE_COOKIE, device.value, { expires: device.expiresAt })
    return user
  }),

  /** Ends this session; its sockets (and those of tickets it minted) close with 4401 on every instance. */
  logout: httpSessionProcedure.mutation(async ({ ctx }) => {
    await invalidateSession(ctx.db, ctx.session.id)
    ctx.clearSessionCookie()
    return { ok: true as const }
  }),

  /** New password; every other session of the user ends, and every socket but this session's closes. */
  changePassword: httpSessionProcedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    await changePassword(ctx.db, ctx.user.id, ctx.session.id, input)
    return { ok: true as const }
  }),

  me: publicProcedure.query(({ ctx }) => ctx.user),

  /**
   * A 60-second ticket that authenticates a WebSocket as `connectionParams.token` (docs/websocket.md),
   * bound to the session or API token that minted it: its sockets end with that credential.
   */
  wsTicket: httpProtectedProcedure.mutation(({ ctx }) => createWsTicket(ctx.db, ctx.user.id, ctx.credential ?? {}, ctx.user)),
})
