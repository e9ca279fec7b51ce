import { defineNitroPlugin } from 'nitropack/runtime'
import { DescriptionHub, setDescriptionHub, useDescriptionHub } from '../collab/descriptionHub'
import { RedisDocBus } from '../collab/docBus'
import { useEnv } from '../utils/env'

// Live description documents (issue 17): with REDIS_URL their updates reach the other instances
// through Redis pub/sub (`tt:ydoc:<taskId>`); at shutdown, texts not yet written to Task.description are.
// Nitro runs plugins in file-name order: this one comes after database.ts, which refuses a bad
// configuration with one line before anything else reads it.
export default defineNitroPlugin((nitroApp) => {
  const { REDIS_URL } = useEnv()
  const bus = REDIS_URL ? new RedisDocBus(REDIS_URL) : null
  const previous = bus ? setDescriptionHub(new DescriptionHub(bus)) : null
  nitroApp.hooks.hook('close', async () => {
    await useDescriptionHub().stop()
    if (previous) setDescriptionHub(previous)
    await bus?.close()
  })
})
