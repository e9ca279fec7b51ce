import { defineNitroPlugin } from 'nitropack/runtime'
import { HTTP_CALL_LIMIT, httpCallRateOf, setHttpCallLimiter } from '../trpc/http'
import { createSignInLimits, setSignInLimits } from '../services/signInLimits'
import { setSocketCallLimiter, SOCKET_CALL_LIMIT } from '../trpc/init'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'
import { callLimiter, limiterRedisConnection, memoryStore, redisStore, watchLimiterConnection } from '../utils/rateLimit'

// With REDIS_URL, sign-in and sign-up budgets and each user's budgets of WebSocket and HTTP calls live in
// Redis and are shared by every instance (three instances do not allow three times the guesses);
// without it, the in-process limiters of server/services/signInLimits.ts and server/trpc/init.ts
// serve this single instance. While Redis is unreachable each instance counts in memory
// (rate-limiter-flexible's insurance limiter): limits hold per instance, calls are not refused.
// HTTP_CALLS_PER_SECOND / HTTP_CALL_BURST set the HTTP budget (defaults: HTTP_CALL_LIMIT), with or
// without Redis; benchmarks that play one very busy user raise them.
export default defineNitroPlugin((nitroApp) => {
  const env = useEnv()
  const { REDIS_URL } = env
  const httpRate = httpCallRateOf(env)
  if (!REDIS_URL) {
    if (httpRate.capacity === HTTP_CALL_LIMIT.capacity && httpRate.perSecond === HTTP_CALL_LIMIT.perSecond) return
    const previous = setHttpCallLimiter(callLimiter(memoryStore(), 'http', httpRate))
    nitroApp.hooks.hook('close', () => {
      setHttpCallLimiter(previous)
    })
    return
  }
  const redis = limiterRedisConnection(REDIS_URL)
  const unwatch = watchLimiterConnection(redis, {
    onDown: () => logger.error('rate limits: Redis is unreachable; counting per instance until it answers again'),
    onUp: () => logger.info('rate limits: Redis answers again; limits are shared by all instances'),
  })
  const store = redisStore(redis)
  const previousSocket = setSocketCallLimiter(callLimiter(store, 'ws', SOCKET_CALL_LIMIT))
  // HTTP calls (server/trpc/http.ts) have a budget of their own.
  const previousHttp = setHttpCallLimiter(callLimiter(store, 'http', httpRate))
  const previousSignIn = setSignInLimits(createSignInLimits(store))
  nitroApp.hooks.hook('close', async () => {
    unwatch()
    setSocketCallLimiter(previousSocket)
    setHttpCallLimiter(previousHttp)
    setSignInLimits(previousSignIn)
    try {
      await redis.quit()
    }
    catch {
      redis.disconnect()
    }
  })
})
