import { defineNitroPlugin } from 'nitropack/runtime'
import { RedisRevocationBus, setRevocationBus } from '../realtime/revocation'
import { RedisSocketSlots, setSocketSlots } from '../realtime/socketSlots'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'

// With REDIS_URL, revocations (sign-out, revoked token, password change) reach the sockets on every
// instance (channel tt:revoke:all), and sockets per user and per address are counted across
// instances (sorted sets tt:ws:slots:*). Without it, both are in process, for this one instance.
export default defineNitroPlugin((nitroApp) => {
  const { REDIS_URL } = useEnv()
  if (!REDIS_URL) return
  const revocations = new RedisRevocationBus(REDIS_URL)
  const slots = new RedisSocketSlots(REDIS_URL)
  const previousBus = setRevocationBus(revocations)
  const previousSlots = setSocketSlots(slots)
  logger.info('socket revocations and caps are shared through Redis')
  nitroApp.hooks.hook('close', async () => {
    setRevocationBus(previousBus)
    setSocketSlots(previousSlots)
    await Promise.all([revocations.close(), slots.close()])
  })
})
