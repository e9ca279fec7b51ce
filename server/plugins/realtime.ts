import { defineNitroPlugin } from 'nitropack/runtime'
import { setEventBus } from '../realtime/bus'
import { RedisBus } from '../realtime/redisBus'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'

// With REDIS_URL, events fan out to every instance through Redis pub/sub; without it, the
// in-process bus of server/realtime/bus.ts serves this single instance.
export default defineNitroPlugin((nitroApp) => {
  const { REDIS_URL } = useEnv()
  if (!REDIS_URL) return
  const bus = new RedisBus(REDIS_URL)
  const previous = setEventBus(bus)
  logger.info('real-time events fan out through Redis')
  nitroApp.hooks.hook('close', async () => {
    setEventBus(previous)
    await bus.close()
  })
})
