import { defineNitroPlugin } from 'nitropack/runtime'
import { PresenceHub, presenceTiming, setPresenceHub } from '../presence/hub'
import { MemoryPresenceStore, RedisPresenceStore } from '../presence/store'
import { getAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'

// Presence lives in Redis when REDIS_URL is set (instances agree; a crashed one's users lapse within
// the entry TTL), in this process otherwise. `lastSeenAt` goes to the database.
export default defineNitroPlugin((nitroApp) => {
  const { REDIS_URL, PRESENCE_TTL_SECONDS } = useEnv()
  // Heartbeats and sweeps at a third of the TTL: offline within TTL + TTL/3 after a crash.
  const ttl = PRESENCE_TTL_SECONDS * 1000
  Object.assign(presenceTiming, { entryTtlMs: ttl, heartbeatMs: Math.round(ttl / 3), sweepMs: Math.round(ttl / 3) })
  const store = REDIS_URL ? new RedisPresenceStore(REDIS_URL) : new MemoryPresenceStore()
  const hub = new PresenceHub(store, {
    onSeen: async (userIds, at) => (await getAppDatabase()).prisma.user.updateMany({ where: { id: { in: userIds } }, data: { lastSeenAt: at } }),
  }).start()
  setPresenceHub(hub)
  if (REDIS_URL) logger.info('presence is shared through Redis')
  nitroApp.hooks.hook('close', async () => {
    await hub.stop()
    await store.close()
  })
})
