import { createTrpcHttpHandler } from '../../trpc/http'
import { getAppDatabase } from '../../utils/database'
import { useEnv } from '../../utils/env'

export default createTrpcHttpHandler({
  env: useEnv,
  db: async () => (await getAppDatabase()).prisma,
})
