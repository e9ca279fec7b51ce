/**
 * Token bucket per key, in process. `capacity` requests at once, refilled at `perSecond`.
 * Buckets that are full again are forgotten, so memory stays bounded by active keys.
 */
export class TokenBucketLimiter {
  private buckets = new Map<string, { tokens: number, at: number }>()

  constructor(private capacity: number, private perSecond: number, private now: () => number = Date.now) {}

  /** Takes one token; returns 0 when allowed, otherwise the seconds until one is available. */
  take(key: string, cost = 1): number {
    const now = this.now()
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
    bucket.at = now
    if (bucket.tokens < cost) {
      this.buckets.set(key, bucket)
      return Math.ceil((cost - bucket.tokens) / this.perSecond)
    }
    bucket.tokens -= cost
    this.buckets.set(key, bucket)
    if (this.buckets.size > 10_000) this.sweep(now)
    return 0
  }

  reset(key: string) {
    this.buckets.delete(key)
  }

  private sweep(now: number) {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.capacity) this.buckets.delete(key)
    }
  }
}
