import { defineTask } from 'nitropack/runtime'
import { runDigests } from '../../email/digest'
import { useMailer } from '../../email/mailer'
import { cronMatches } from '../../email/schedule'
import { getAppDatabase } from '../../utils/database'
import { useEnv } from '../../utils/env'
import { logger } from '../../utils/logger'

// Scheduled every minute (nuxt.config.ts); does its work in the minutes DIGEST_CRON names. Every
// instance runs it: DigestRun claiming makes a digest go out once whichever instance gets there.
export default defineTask({
  meta: { name: 'digest:send', description: 'Queue the daily and weekly digests that are due (payload { force: true } ignores DIGEST_CRON)' },
  async run({ payload }) {
    const env = useEnv()
    if (payload?.force !== true && !cronMatches(env.DIGEST_CRON, new Date())) return { result: 'not scheduled in this minute' }
    const mailer = useMailer()
    if (!mailer) return { result: 'email is off (no SMTP_URL in production)' }
    const started = Date.now()
    const result = await runDigests((await getAppDatabase()).prisma, { origin: env.PUBLIC_ORIGIN })
    logger.info('digest run', { ...result, ms: Date.now() - started })
    mailer.kick()
    return { result: `${result.queued} queued, ${result.empty} empty, ${result.skipped} already sent, ${result.users} users` }
  },
})
