// The push delivery queue of one instance. Each job is one encrypted message (RFC 8291 aes128gcm,
// VAPID-signed, both by the web-push library) for one subscription, POSTed with fetch:
// - 2xx: delivered (lastSuccessAt, failures reset);
// - 404 / 410: the subscription is gone, its row is deleted;
// - 429 / 5xx / network error / timeout: retried with exponential backoff, or after Retry-After when
//   the push service says so (whichever is later), up to maxAttempts;
// - any other answer: dropped (failures + 1).
// A bounded number of requests run at once, each with a timeout, and at most one per subscription,
// so a slow or dead endpoint holds one slot for at most timeoutMs and never blocks the others.
// A message still waiting for a subscription is replaced by a newer one with the same topic (one
// per task), which is what the push service would do with an undelivered message of that topic.
import type { PushPayload } from '../../shared/schemas/push'
import type { Db } from '../utils/db'
import { logger } from '../utils/logger'
import { pushCounters } from './pushMetrics'
import { pushRequest, VapidAuthorization } from './request'
import type { VapidKeys } from './vapid'
import { useServices } from '../container'

export interface PushTarget {
  subscriptionId: string
  endpoint: string
  p256dh: string
  auth: string
}

export interface PushJob extends PushTarget {
  payload: PushPayload
  /** replaces an undelivered message with the same topic (base64url, ≤ 32 characters) */
  topic?: string
  urgency?: 'very-low' | 'low' | 'normal' | 'high'
  /** seconds the push service keeps an undelivered message */
  ttlSeconds?: number
}

export interface PushSenderOptions {
  db: Db
  keys: () => Promise<VapidKeys>
  /** requests in flight at once (default 16) */
  concurrency?: number
  /** per request (default 10 s) */
  timeoutMs?: number
  /** tries per message, the first included (default 5) */
  maxAttempts?: number
  /** first retry delay, doubled each time (default 1 s) */
  backoffMs?: number
  /** longest wait before a retry, Retry-After included (default 10 min) */
  maxBackoffMs?: number
  /** TTL header when a job has none (default 24 h) */
  ttlSeconds?: number
  fetch?: typeof fetch
  now?: () => number
}

/** How often the successes of a busy queue are written to the subscriptions (one UPDATE for all). */
const SUCCESS_FLUSH_MS = 250

interface Queued {
  job: PushJob
  attempt: number
  notBefore: number
  /** ms since the epoch when it was first queued */
  queuedAt: number
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from now; null when absent or bad. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

export class PushSender {
  private readonly waiting: Queued[] = []
  private readonly busy = new Set<string>()
  private inFlight = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private timerAt = 0
  private stopped = false
  private readonly idleWaiters: (() => void)[] = []
  /** subscriptions that received a message since the last write of lastSuccessAt */
  private readonly succeeded = new Set<string>()
  private flushing: Promise<void> | null = null
  private flushTimer: ReturnType<typeof setTimeout> | null = null
  private readonly vapid: VapidAuthorization
  private readonly o: Required<Omit<PushSenderOptions, 'db' | 'keys'>>

  constructor(private readonly options: PushSenderOptions) {
    this.o = {
      concurrency: options.concurrency ?? 16,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxAttempts: options.maxAttempts ?? 5,
      backoffMs: options.backoffMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 600_000,
      ttlSeconds: options.ttlSeconds ?? 86_400,
      fetch: options.fetch ?? fetch,
      now: options.now ?? Date.now,
    }
    this.vapid = new VapidAuthorization(this.o.now)
  }

  /** Messages waiting (including those waiting for a retry) plus those in flight. */
  depth(): number {
    return this.waiting.length + this.inFlight
  }

  enqueue(jobs: PushJob[]) {
    if (this.stopped) return
    const now = this.o.now()
    for (const job of jobs) {
      // A newer message for the same subscription and topic replaces one not yet sent.
      const same = job.topic ? this.waiting.find(q => q.job.subscriptionId === job.subscriptionId && q.job.topic === job.topic && q.attempt === 0) : undefined
      if (same) {
        same.job = job
        pushCounters.coalesced++
        continue
      }
      this.waiting.push({ job, attempt: 0, notBefore: now, queuedAt: now })
    }
    this.pump()
  }

  /** Resolves once nothing is waiting or in flight and the outcomes are written (tests, benchmarks, shutdown). */
  idle(): Promise<void> {
    if (this.depth() === 0 && !this.succeeded.size && !this.flushing) return Promise.resolve()
    return new Promise(resolve => this.idleWaiters.push(resolve))
  }

  /** Stops taking and retrying messages; waits for those in flight (at most timeoutMs). Waiting ones are dropped. */
  async stop() {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const dropped = this.waiting.splice(0).length
    if (dropped) logger.warn('push: messages still queued at shutdown were dropped', { dropped })
    if (this.inFlight || this.succeeded.size || this.flushing) await new Promise<void>(resolve => this.idleWaiters.push(resolve))
    this.settleIdle()
  }

  private settleIdle() {
    if (this.depth() !== 0 || this.flushing) return
    if (this.succeeded.size) {
      void this.flushSuccesses()
      return
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  /** Writes lastSuccessAt (and failures = 0) for the subscriptions that received a message, in one UPDATE. */
  private flushSuccesses(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
    if (this.flushing) return this.flushing
    const ids = [...this.succeeded]
    this.succeeded.clear()
    this.flushing = this.options.db.pushSubscription.updateMany({ where: { id: { in: ids } }, data: { lastSuccessAt: new Date(this.o.now()), failures: 0 } })
      .then(() => {}, (error: Error) => logger.warn('push: recording deliveries failed', { message: error.message }))
      .finally(() => {
        this.flushing = null
        this.settleIdle()
      })
    return this.flushing
  }

  private pump() {
    if (this.stopped) return
    const now = this.o.now()
    let next = Infinity
    for (let i = 0; i < this.waiting.length && this.inFlight < this.o.concurrency;) {
      const q = this.waiting[i]!
      if (q.notBefore > now) {
        next = Math.min(next, q.notBefore)
        i++
        continue
      }
      // One request per subscription at a time: a slow endpoint takes one slot, not all.
      if (this.busy.has(q.job.subscriptionId)) {
        i++
        continue
      }
      this.waiting.splice(i, 1)
      this.inFlight++
      this.busy.add(q.job.subscriptionId)
      void this.attempt(q).finally(() => {
        this.inFlight--
        this.busy.delete(q.job.subscriptionId)
        this.pump()
        this.settleIdle()
      })
    }
    if (next !== Infinity && (!this.timer || next < this.timerAt)) {
      if (this.timer) clearTimeout(this.timer)
      this.timerAt = next
      this.timer = setTimeout(() => {
        this.timer = null
        this.pump()
      }, Math.max(0, next - now))
      this.timer.unref?.()
    }
  }

  private async attempt(q: Queued) {
    const { job } = q
    q.attempt++
    let status: number
    let retryAfter: number | null = null
    try {
      const keys = await this.options.keys()
      const { headers, body } = pushRequest(job, this.o.ttlSeconds)
      headers.Authorization = this.vapid.header(job.endpoint, keys)
      const response = await this.o.fetch(job.endpoint, {
        method: 'POST',
        headers,
        body,
        // Never follow a redirect: only the endpoint that passed the allowlist is ever contacted.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs),
      })
      status = response.status
      retryAfter = retryAfterMs(response.headers.get('retry-after'), this.o.now())
      await response.body?.cancel().catch(() => {})
    }
    catch (error) {
      status = 0
      logger.debug('push: request failed', { subscriptionId: job.subscriptionId, message: (error as Error).message })
    }
    await this.settle(q, status, retryAfter).catch((error: Error) => {
      logger.warn('push: recording a delivery failed', { subscriptionId: job.subscriptionId, message: error.message })
    })
  }

  private async settle(q: Queued, status: number, retryAfter: number | null) {
    const { db } = this.options
    const id = q.job.subscriptionId
    if (status >= 200 && status < 300) {
      pushCounters.sent++
      pushCounters.observeDelay(this.o.now() - q.queuedAt)
      this.succeeded.add(id)
      if (!this.flushTimer) {
        this.flushTimer = setTimeout(() => void this.flushSuccesses(), SUCCESS_FLUSH_MS)
        this.flushTimer.unref?.()
      }
      return
    }
    if (status === 404 || status === 410) {
      pushCounters.gone++
      this.succeeded.delete(id)
      // Dropped for good: the browser unsubscribed or the subscription expired.
      this.waiting.splice(0, this.waiting.length, ...this.waiting.filter(w => w.job.subscriptionId !== id))
      await db.pushSubscription.deleteMany({ where: { id } })
      return
    }
    await db.pushSubscription.updateMany({ where: { id }, data: { failures: { increment: 1 } } })
    const retryable = status === 0 || status === 429 || status >= 500
    if (retryable && q.attempt < this.o.maxAttempts && !this.stopped) {
      pushCounters.retried++
      const backoff = this.o.backoffMs * 2 ** (q.attempt - 1)
      const wait = Math.min(this.o.maxBackoffMs, Math.max(backoff, retryAfter ?? 0))
      q.notBefore = this.o.now() + wait
      this.waiting.push(q)
      return
    }
    pushCounters.failed++
    logger.info('push: message dropped', { subscriptionId: id, status, attempts: q.attempt })
  }
}

/** The instance's sender (built by server/plugins/services.ts once the database is open; tests build their own). */
export function usePushSender(): PushSender | null {
  return useServices().pushSender
}
