import { defineTask } from 'nitropack/runtime'
import { useMailer } from '../../email/mailer'

// The mailer drains the outbox when kicked and every few seconds; this scheduled run is the
// safety net, and lets an operator drain by hand (`npx nuxt task run email:drain` in dev).
export default defineTask({
  meta: { name: 'email:drain', description: 'Send due notification emails and drain the email outbox' },
  async run() {
    const mailer = useMailer()
    if (!mailer) return { result: 'email is off' }
    mailer.kick()
    await mailer.idle()
    return { result: 'drained' }
  },
})
