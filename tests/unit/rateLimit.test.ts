import { describe, expect, it } from 'vitest'
import { TokenBucketLimiter } from '../../server/utils/rateLimit'

function clock(start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

describe('TokenBucketLimiter', () => {
  it('allows a burst of `capacity`, then says how many seconds to wait', () => {
    const c = clock()
    const limiter = new TokenBucketLimiter(3, 1 / 10, c.now)
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0])
    expect(limiter.take('a')).toBe(10)
    c.advance(4_000)
    expect(limiter.take('a')).toBe(6)
  })

  it('refills at the configured rate, never above capacity', () => {
    const c = clock()
    const limiter = new TokenBucketLimiter(2, 1, c.now)
    limiter.take('a')
    limiter.take('a')
    expect(limiter.take('a')).toBe(1)
    c.advance(1_000)
    expect(limiter.take('a')).toBe(0)
    expect(limiter.take('a')).toBe(1)
    c.advance(60_000)
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 1])
  })

  it('keeps keys apart and forgets a key on reset', () => {
    const c = clock()
    const limiter = new TokenBucketLimiter(1, 1 / 60, c.now)
    expect(limiter.take('ip-1')).toBe(0)
    expect(limiter.take('ip-1')).toBe(60)
    expect(limiter.take('ip-2')).toBe(0)
    limiter.reset('ip-1')
    expect(limiter.take('ip-1')).toBe(0)
  })

  it('refused attempts do not use up tokens', () => {
    const c = clock()
    const limiter = new TokenBucketLimiter(1, 1, c.now)
    limiter.take('a')
    for (let i = 0; i < 5; i++) limiter.take('a')
    c.advance(1_000)
    expect(limiter.take('a')).toBe(0)
  })

  it('supports a cost per call', () => {
    const limiter = new TokenBucketLimiter(5, 1, clock().now)
    expect(limiter.take('a', 4)).toBe(0)
    expect(limiter.take('a', 4)).toBe(3)
    expect(limiter.take('a', 1)).toBe(0)
  })

  it('forgets full buckets once it tracks many keys, without forgetting limited ones', () => {
    const c = clock()
    const limiter = new TokenBucketLimiter(1, 1, c.now)
    limiter.take('attacker')
    for (let i = 0; i < 10_001; i++) limiter.take(`visitor-${i}`)
    // Visitors' buckets are full again after a second; the next take sweeps them.
    c.advance(500)
    limiter.take('late')
    c.advance(600)
    limiter.take('trigger')
    const size = (limiter as unknown as { buckets: Map<string, unknown> }).buckets.size
    expect(size).toBeLessThan(10)
    // The attacker's bucket refilled too, so forgetting it changes nothing for them.
    expect(limiter.take('attacker')).toBe(0)
  })
})
