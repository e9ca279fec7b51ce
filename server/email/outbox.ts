// The email outbox: every message is a row, queued → sending → sent | failed. Senders claim rows
// with FOR UPDATE SKIP LOCKED under a lease, so instances sharing a database never take the same
// row, and a row whose sender died mid-send is claimed again once its lease has run out.
import { randomUUID } from 'node:crypto'
import type { Prisma } from '../generated/prisma/client'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { logger } from '../utils/logger'
import type { RenderedEmail } from './templates'
import { isPermanentFailure, type MailTransport, type OutgoingEmail } from './transport'

export type OutboxKind = 'notification' | 'digest_daily' | 'digest_weekly' | 'test'

/** Tunables; tests shrink them. */
export const outboxLimits = {
  /** rows claimed (and sent concurrently, through the transport's pool) per batch */
  batchSize: 50,
  /** a claimed row is its claimer's for this long; afterwards another sender may take it */
  leaseMs: 5 * 60_000,
  /** retry after 30 s, 1 min, 2 min, … capped at 1 h */
  backoffBaseMs: 30_000,
  backoffMaxMs: 3_600_000,
  /** temporary failures after which a message is given up */
  maxAttempts: 10,
}

export interface QueuedEmail extends RenderedEmail {
  userId: string | null
  kind: OutboxKind
  to: string
  headers?: Record<string, string>
}

/** Queues one message (in the caller's transaction when given one). Returns the outbox id. */
export async function enqueueEmail(db: DbTx, email: QueuedEmail, now: Date = new Date()): Promise<string> {
  const id = newId()
  await db.emailOutbox.create({ data: outboxRow(id, email, now) })
  return id
}

export function outboxRow(id: string, email: QueuedEmail, now: Date): Prisma.EmailOutboxCreateManyInput {
  return {
    id,
    userId: email.userId,
    kind: email.kind,
    to: email.to,
    subject: email.subject,
    html: email.html,
    text: email.text,
    headers: email.headers ?? {},
    nextAttemptAt: now,
    createdAt: now,
  }
}

/** A claimed outbox row: the message without its sender (drainOutbox's `from`), and how often it was tried. */
interface ClaimedRow extends Omit<OutgoingEmail, 'from'> {
  attempts: number
  kind: string
}

/** Takes up to `limit` rows that are due (or whose claimer's lease ran out) for this sender. */
export async function claimBatch(db: Db, limit: number, now: Date, token: string): Promise<ClaimedRow[]> {
  const leaseEnd = new Date(now.getTime() + outboxLimits.leaseMs)
  return db.$queryRawUnsafe<ClaimedRow[]>(
    `UPDATE "EmailOutbox" SET "status" = 'sending', "lockToken" = $1, "lockedUntil" = $2, "attempts" = "attempts" + 1
     WHERE "id" IN (
       SELECT "id" FROM "EmailOutbox"
       WHERE ("status" = 'queued' AND "nextAttemptAt" <= $3) OR ("status" = 'sending' AND "lockedUntil" < $3)
       ORDER BY "nextAttemptAt"
       LIMIT $4
       FOR UPDATE SKIP LOCKED
     )
     RETURNING "id", "to", "subject", "html", "text", "headers", "attempts", "kind"`,
    token,
    leaseEnd,
    now,
    limit,
  )
}

export function backoffMs(attempts: number): number {
  return Math.min(outboxLimits.backoffBaseMs * 2 ** Math.max(0, attempts - 1), outboxLimits.backoffMaxMs)
}

export interface DrainResult {
  sent: number
  retried: number
  failed: number
}

/**
 * Sends what is due, batch after batch, until nothing due is left (or `maxBatches`). A 4xx reply
 * or a connection failure is retried later with exponential backoff; a 5xx reply is final.
 */
export async function drainOutbox(db: Db, transport: MailTransport, from: string, opts: { now?: () => Date, maxBatches?: number } = {}): Promise<DrainResult> {
  const clock = opts.now ?? (() => new Date())
  const result: DrainResult = { sent: 0, retried: 0, failed: 0 }
  if (transport.kind === 'none') return result
  const token = randomUUID()
  for (let batch = 0; batch < (opts.maxBatches ?? Infinity); batch++) {
    const rows = await claimBatch(db, outboxLimits.batchSize, clock(), token)
    if (!rows.length) break
    const sent: string[] = []
    await Promise.all(rows.map(async (row) => {
      try {
        await transport.send({ id: row.id, from, to: row.to, subject: row.subject, html: row.html, text: row.text, headers: row.headers ?? {} })
        sent.push(row.id)
      }
      catch (error) {
        const message = (error as Error).message.slice(0, 1000)
        const permanent = isPermanentFailure(error) || row.attempts >= outboxLimits.maxAttempts
        if (permanent) {
          result.failed++
          logger.error('an email could not be delivered and will not be retried', { id: row.id, kind: row.kind, to: row.to, attempts: row.attempts, error: message })
        }
        else {
          result.retried++
          logger.warn('an email could not be sent; retrying later', { id: row.id, kind: row.kind, attempts: row.attempts, retryInSeconds: backoffMs(row.attempts) / 1000, error: message })
        }
        // Only while still ours: a row whose lease ran out may already be someone else's.
        await db.emailOutbox.updateMany({
          where: { id: row.id, lockToken: token },
          data: permanent
            ? { status: 'failed', lastError: message, lockToken: null, lockedUntil: null }
            : { status: 'queued', lastError: message, nextAttemptAt: new Date(clock().getTime() + backoffMs(row.attempts)), lockToken: null, lockedUntil: null },
        })
      }
    }))
    if (sent.length) {
      // One statement for the batch; only rows still ours (the Message-ID is ours too: <outbox id@tasktracker>).
      result.sent += await db.$executeRawUnsafe(
        `UPDATE "EmailOutbox" SET "status" = 'sent', "sentAt" = $1, "messageId" = '<' || "id" || '@tasktracker>', "lockToken" = NULL, "lockedUntil" = NULL, "lastError" = NULL
         WHERE "id" = ANY($2::text[]) AND "lockToken" = $3`,
        clock(),
        sent,
        token,
      )
    }
  }
  return result
}
