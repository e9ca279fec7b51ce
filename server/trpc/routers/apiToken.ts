import { apiTokenCreateInput, apiTokenRevokeInput } from '../../../shared/schemas/auth'
import { createApiToken, listApiTokens, revokeApiToken } from '../../services/apiToken'
import { router, sessionProcedure } from '../init'

// Tokens are managed from a browser session only: a leaked token cannot mint more tokens.
export const apiTokenRouter = router({
  create: sessionProcedure.input(apiTokenCreateInput).mutation(({ ctx, input }) => createApiToken(ctx.db, ctx.user.id, input)),
  list: sessionProcedure.query(({ ctx }) => listApiTokens(ctx.db, ctx.user.id)),
  revoke: sessionProcedure.input(apiTokenRevokeInput).mutation(async ({ ctx, input }) => {
    await revokeApiToken(ctx.db, ctx.user.id, input.id)
    return { id: input.id }
  }),
})
