import { defineNitroPlugin } from 'nitropack/runtime'
import { closeServices, createServices, httpCallRateOf, installServices, useServices } from '../container'
import { Mailer } from '../email/mailer'
import { transportFromEnv } from '../email/transport'
import { registerChannel, unregisterChannel } from '../notifications/channels'
import { presenceTiming } from '../presence/hub'
import { createPushChannel } from '../push/channel'
import { PushSender } from '../push/sender'
import { vapidKeys } from '../push/vapid'
import { getAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'

// Builds this instance's services for the runtime configuration (server/container.ts) and installs
// them. With REDIS_URL, project events, notifications, description documents, presence, socket
// revocations and caps, and the sign-in, sign-up, socket and HTTP call budgets are shared by every
// instance through Redis (while Redis is unreachable the limits count per instance); without it,
// all of them live in this process. Once the database is open: the mailer (SMTP_URL → nodemailer;
// without it .eml files under MAIL_DIR in development, nothing in production) and the Web Push
// sender. Nitro runs plugins in file-name order: this one comes after database.ts, which refuses a
// bad configuration with one line before anything else reads it.
export default defineNitroPlugin((nitroApp) => {
  const env = useEnv()
  const { REDIS_URL } = env
  // Presence heartbeats and sweeps at a third of the TTL: offline within TTL + TTL/3 after a crash.
  const ttl = env.PRESENCE_TTL_SECONDS * 1000
  Object.assign(presenceTiming, { entryTtlMs: ttl, heartbeatMs: Math.round(ttl / 3), sweepMs: Math.round(ttl / 3) })
  const services = createServices({
    redisUrl: REDIS_URL,
    httpRate: httpCallRateOf(env),
    presence: {
      onSeen: async (userIds, at) => (await getAppDatabase()).prisma.user.updateMany({ where: { id: { in: userIds } }, data: { lastSeenAt: at } }),
    },
  })
  services.presence.start()
  const restore = installServices(services)
  if (REDIS_URL) logger.info('real-time events, notifications, presence, socket caps and rate limits are shared through Redis')

  const transport = transportFromEnv(env)
  if (transport.kind === 'none') logger.warn('SMTP_URL is not set: no email will be sent (notification emails and digests are off until it is)')
  if (transport.kind === 'files') logger.info(`SMTP_URL is not set: emails are written to ${env.MAIL_DIR} and listed at /dev/mail`)
  const ready = getAppDatabase().then((database) => {
    const db = database.prisma
    if (transport.kind !== 'none') {
      services.mailer = new Mailer({ db, transport, from: env.mailFrom, origin: env.PUBLIC_ORIGIN, delayMs: env.EMAIL_NOTIFY_DELAY_SECONDS * 1000 }).start()
    }
    services.pushSender = new PushSender({ db, keys: () => vapidKeys.get(db) })
    registerChannel(createPushChannel({ sender: () => useServices().pushSender }))
  })
  ready.catch((error: Error) => {
    // the database plugin reports its own failure and stops the process
    logger.debug('mailer and push: not started', { message: error.message })
  })

  nitroApp.hooks.hook('close', async () => {
    await ready.catch(() => {})
    unregisterChannel('push')
    // Pending descriptions are written, the mail round finishes, committed writes' notifications are
    // stored, presence says goodbye, then the Redis connections close (server/container.ts).
    await closeServices(services)
    restore()
  })
})
