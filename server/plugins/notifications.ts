import { defineNitroPlugin } from 'nitropack/runtime'
import { notificationsSettled } from '../notifications/notifier'
import { RedisUserBus, setUserBus } from '../notifications/userBus'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'

// With REDIS_URL, a user's notifications reach their sockets on every instance through Redis
// (channels tt:user:<userId>); without it, the in-process user bus serves this single instance.
export default defineNitroPlugin((nitroApp) => {
  const { REDIS_URL } = useEnv()
  const bus = REDIS_URL ? new RedisUserBus(REDIS_URL) : null
  const previous = bus ? setUserBus(bus) : null
  if (bus) logger.info('notifications fan out through Redis')
  nitroApp.hooks.hook('close', async () => {
    // Let notifications of writes that already committed be stored before the database closes.
    await notificationsSettled()
    if (bus && previous) {
      setUserBus(previous)
      await bus.close()
    }
  })
})
