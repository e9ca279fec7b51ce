import { defineNitroPlugin } from 'nitropack/runtime'
import { registerChannel, unregisterChannel } from '../notifications/channels'
import { createPushChannel } from '../push/channel'
import { PushSender, setPushSender, usePushSender } from '../push/sender'
import { vapidKeys } from '../push/vapid'
import { getAppDatabase } from '../utils/database'
import { logger } from '../utils/logger'

// The Web Push channel (docs/push.md): one delivery queue per instance, fed by the notifier's push
// channel; VAPID keys from the environment or the database (AppSecret), read on first send.
export default defineNitroPlugin((nitroApp) => {
  const ready = getAppDatabase().then((database) => {
    const db = database.prisma
    setPushSender(new PushSender({ db, keys: () => vapidKeys.get(db) }))
    registerChannel(createPushChannel({ sender: usePushSender }))
  })
  ready.catch((error: Error) => {
    // the database plugin reports its own failure and stops the process
    logger.debug('push: not started', { message: error.message })
  })
  nitroApp.hooks.hook('close', async () => {
    await ready.catch(() => {})
    unregisterChannel('push')
    await setPushSender(null)?.stop()
  })
})
