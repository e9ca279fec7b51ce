import { createError, defineEventHandler, getCookie, getHeader, getRequestIP } from 'h3'
import { createTRPCNuxtHandler } from 'trpc-nuxt/server'
import { createContextInner, type CookieJar } from '../../trpc/context'
import { appRouter } from '../../trpc/routers/_app'
import { getAppDatabase } from '../../utils/database'
import { useEnv } from '../../utils/env'
import { logger } from '../../utils/logger'
import { isForeignOrigin } from '../../utils/origin'

function serializeCookie(name: string, value: string, expires: Date, secure: boolean) {
  return `${name}=${value}; Path=/; Expires=${expires.toUTCString()}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

const handler = createTRPCNuxtHandler({
  endpoint: '/api/trpc',
  router: appRouter,
  createContext: async (event, { resHeaders }) => {
    const env = useEnv()
    const db = await getAppDatabase()
    const cookies: CookieJar = {
      get: name => getCookie(event, name),
      set: (name, value, opts) => resHeaders.append('set-cookie', serializeCookie(name, value, opts.expires ?? new Date(Date.now() + 86_400_000), env.secureCookies)),
      delete: name => resHeaders.append('set-cookie', serializeCookie(name, '', new Date(0), env.secureCookies)),
    }
    const authorization = getHeader(event, 'authorization')
    const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1]
    const ip = getRequestIP(event, { xForwardedFor: env.TRUST_PROXY }) ?? 'unknown'
    return createContextInner({ db: db.prisma, env, cookies, bearer, ip })
  },
  onError: ({ error, path }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') logger.error(`tRPC ${path ?? '?'} failed`, { message: error.message, stack: error.stack })
  },
})

export default defineEventHandler((event) => {
  if (isForeignOrigin(event, useEnv().allowedOrigins)) {
    throw createError({ statusCode: 403, statusMessage: 'Cross-site request refused' })
  }
  return handler(event)
})
