import { defineNitroPlugin } from 'nitropack/runtime'
import { Mailer, setMailer } from '../email/mailer'
import { transportFromEnv } from '../email/transport'
import { getAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'

// The instance's mailer (docs/email.md): SMTP_URL → nodemailer; no SMTP_URL → .eml files under
// MAIL_DIR in development, and nothing at all in production (one warning, no channel, no digests).
export default defineNitroPlugin((nitroApp) => {
  const env = useEnv()
  const transport = transportFromEnv(env)
  if (transport.kind === 'none') {
    logger.warn('SMTP_URL is not set: no email will be sent (notification emails and digests are off until it is)')
    return
  }
  if (transport.kind === 'files') logger.info(`SMTP_URL is not set: emails are written to ${env.MAIL_DIR} and listed at /dev/mail`)
  let mailer: Mailer | null = null
  const ready = getAppDatabase().then((database) => {
    mailer = new Mailer({ db: database.prisma, transport, from: env.mailFrom, origin: env.PUBLIC_ORIGIN, delayMs: env.EMAIL_NOTIFY_DELAY_SECONDS * 1000 }).start()
    setMailer(mailer)
  })
  ready.catch(() => {
    // the database plugin reports its own failure and stops the process
  })
  nitroApp.hooks.hook('close', async () => {
    await ready.catch(() => {})
    // The current round finishes (nothing half-sent is left claimed), then the pool closes.
    await mailer?.stop()
    setMailer(null)
  })
})
