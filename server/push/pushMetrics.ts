// Plain counters of the push channel, copied into Prometheus metrics on scrape (server/utils/metrics.ts).

const DELAY_SAMPLES = 1024

export const pushCounters = {
  /** messages the push service accepted (2xx) */
  sent: 0,
  /** messages given up on (retries exhausted, or an answer that is not worth retrying) */
  failed: 0,
  /** subscriptions deleted because the push service said 404 / 410 */
  gone: 0,
  /** retries scheduled (429, 5xx, network error, timeout) */
  retried: 0,
  /** queued messages replaced by a newer one of the same topic */
  coalesced: 0,
  /** deliveries the channel skipped because the user was looking at the task */
  skippedViewing: 0,
  /** the last queue-to-accepted delays (ms), a ring */
  delays: [] as number[],
  observeDelay(ms: number) {
    if (this.delays.length >= DELAY_SAMPLES) this.delays.shift()
    this.delays.push(ms)
  },
}
