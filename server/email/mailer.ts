// The mailer of one instance: the email channel, and a loop that turns due notifications into
// emails and drains the outbox — kicked when something is queued, and polled as a safety net.
import { registerChannel, unregisterChannel, type NotificationChannel } from '../notifications/channels'
import type { Db } from '../utils/db'
import { logger } from '../utils/logger'
import { createEmailChannel, processDueNotificationEmails } from './immediate'
import { drainOutbox } from './outbox'
import type { MailTransport } from './transport'
import { useServices } from '../container'

export interface MailerOptions {
  db: Db
  transport: MailTransport
  from: string
  origin: string
  /** EMAIL_NOTIFY_DELAY_SECONDS in ms */
  delayMs: number
  /** how often the loop looks for due work without being kicked */
  pollMs?: number
}

export class Mailer {
  private timer: ReturnType<typeof setInterval> | null = null
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  private previousChannel: NotificationChannel | undefined
  readonly channel: NotificationChannel

  constructor(readonly options: MailerOptions) {
    this.channel = createEmailChannel(() => ({ delayMs: options.delayMs, origin: options.origin, onQueued: () => this.kick() }))
  }

  get transport(): MailTransport {
    return this.options.transport
  }

  /** Registers the email channel and starts polling. */
  start(): this {
    this.previousChannel = registerChannel(this.channel)
    this.timer = setInterval(() => this.kick(), this.options.pollMs ?? 5_000)
    this.timer.unref?.()
    this.kick()
    return this
  }

  /** Look for due work now (coalesced with a run already under way). */
  kick(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.loop().finally(() => {
      this.running = null
    })
  }

  /** Resolves when the loop has nothing left to do (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  private async loop(): Promise<void> {
    do {
      this.again = false
      try {
        const { db, origin, transport, from } = this.options
        await processDueNotificationEmails(db, { origin })
        await drainOutbox(db, transport, from)
      }
      catch (error) {
        logger.error('the mailer failed a round; it tries again on its next poll', { message: (error as Error).message })
      }
    } while (this.again && !this.stopped)
  }

  /** Stops polling, lets the current round finish, unregisters the channel and closes the transport. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.idle()
    unregisterChannel('email')
    if (this.previousChannel) registerChannel(this.previousChannel)
    this.options.transport.close()
  }
}

/** The instance's mailer (built by server/plugins/services.ts once the database is open, or by a test). */
export function useMailer(): Mailer | null {
  return useServices().mailer
}
