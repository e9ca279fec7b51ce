import { Cron } from 'croner'

/**
 * Whether `expression` fires in the minute of `at`. nitro.scheduledTasks is fixed when the app is
 * built, so the digest task is scheduled every minute and checks the runtime DIGEST_CRON itself.
 */
export function cronMatches(expression: string, at: Date): boolean {
  const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000)
  const cron = new Cron(expression, { paused: true })
  try {
    return cron.match(minute)
  }
  finally {
    cron.stop()
  }
}
