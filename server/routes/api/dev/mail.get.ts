import { createError, defineEventHandler } from 'h3'
import { useMailer } from '../../../email/mailer'
import { readMailbox } from '../../../email/transport'
import { useEnv } from '../../../utils/env'

// The development mailbox: what the app would have sent, when SMTP_URL is unset outside production.
export default defineEventHandler(async () => {
  if (useMailer()?.transport.kind !== 'files') {
    throw createError({ statusCode: 404, statusMessage: 'The development mailbox exists only without SMTP_URL, outside production' })
  }
  return { dir: useEnv().MAIL_DIR, messages: await readMailbox(useEnv().MAIL_DIR) }
})
