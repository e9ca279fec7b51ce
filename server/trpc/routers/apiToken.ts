import { apiTokenCreateInput, apiTokenRevokeInput } from '../../../shared/schemas/auth'
import { createApiToken, listApiTokens, revokeApiToken } from '../../services/apiToken'
import { httpSessionProcedure } from '../httpOnly'
import { router } from '../init'

// Tokens are managed from a browser session over HTTP only: a leaked token cannot mint more tokens,
// and a socket (whose identity is fixed when it opens) cannot manage them either.
export const apiTokenRouter = router({
  create: httpSessionProcedure.input(apiTokenCreateInput).mutation(({ ctx, input }) => createApiToken(ctx.db, ctx.user.id, input)),
  list: httpSessionProcedure.query(({ ctx }) => listApiTokens(ctx.db, ctx.user.id)),
  /** Revokes a token; its open sockets close with 4401 on every instance. */
  revoke: httpSessionProcedure.input(apiTokenRevokeInput).mutation(async ({ ctx, input }) => {
    await revokeApiToken(ctx.db, ctx.user.id, input.id)
    return { id: input.id }
  }),
})
