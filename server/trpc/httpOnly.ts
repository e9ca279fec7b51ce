import { TRPCError } from '@trpc/server'
import { protectedProcedure, publicProcedure, sessionProcedure } from './init'

/**
 * Procedures that create, mint or end credentials answer only over HTTP (`/api/trpc`), where
 * cookies are set and cleared, the HTTP limits apply and a revoked credential fails at once. A
 * socket keeps the identity it opened with, so over it they answer METHOD_NOT_SUPPORTED.
 */
function refuseOverSocket(ctx: { socket?: boolean }, path: string) {
  if (ctx.socket) {
    throw new TRPCError({
      code: 'METHOD_NOT_SUPPORTED',
      message: `${path} works over HTTP only (POST /api/trpc/${path}), not over the WebSocket`,
    })
  }
}

export const httpPublicProcedure = publicProcedure.use(({ ctx, path, next }) => {
  refuseOverSocket(ctx, path)
  return next()
})

export const httpProtectedProcedure = protectedProcedure.use(({ ctx, path, next }) => {
  refuseOverSocket(ctx, path)
  return next()
})

export const httpSessionProcedure = sessionProcedure.use(({ ctx, path, next }) => {
  refuseOverSocket(ctx, path)
  return next()
})
