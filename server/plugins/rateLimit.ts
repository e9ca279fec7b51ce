import { defineNitroPlugin } from 'nitropack/runtime'
import { HTTP_CALL_LIMIT, setHttpCallLimiter } from '../trpc/http'
import { setSocketCallLimiter, SOCKET_CALL_LIMIT } from '../trpc/init'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'
import { limiterRedisConnection, RedisTokenBucketLimiter } from '../utils/rateLimit'

// With REDIS_URL, a user's budget of WebSocket calls lives in Redis and is shared by every instance
// (a client cannot multiply it by opening sockets on several instances); without it, the
// in-process bucket of server/trpc/init.ts serves this single instance.
export default defineNitroPlugin((nitroApp) => {
  const { REDIS_URL } = useEnv()
  if (!REDIS_URL) return
  const redis = limiterRedisConnection(REDIS_URL)
  const limiter = new RedisTokenBucketLimiter(redis, SOCKET_CALL_LIMIT.capacity, SOCKET_CALL_LIMIT.perSecond, {
    prefix: 'tt:ratelimit:ws:',
    onError: error => logger.error('WebSocket rate limit: Redis failed, allowing calls until it answers again', { message: error.message }),
  })
  const previous = setSocketCallLimiter(limiter)
  // The same for HTTP calls (server/trpc/http.ts), in a bucket of their own.
  const previousHttp = setHttpCallLimiter(new RedisTokenBucketLimiter(redis, HTTP_CALL_LIMIT.capacity, HTTP_CALL_LIMIT.perSecond, {
    prefix: 'tt:ratelimit:http:',
    onError: error => logger.error('HTTP rate limit: Redis failed, allowing calls until it answers again', { message: error.message }),
  }))
  nitroApp.hooks.hook('close', async () => {
    setSocketCallLimiter(previous)
    setHttpCallLimiter(previousHttp)
    try {
      await redis.quit()
    }
    catch {
      redis.disconnect()
    }
  })
})
