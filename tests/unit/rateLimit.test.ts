import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { callLimiter, Limiter, memoryStore } from '../../server/utils/rateLimit'

// rate-limiter-flexible's memory store counts with Date.now and expires keys with timers: both faked.
beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Limiter (memory store)', () => {
  it('allows `points` per window, then says how many seconds are left', async () => {
    const limiter = Limiter.of(memoryStore(), 'a', { points: 3, durationSeconds: 10 })
    expect([await limiter.take('k'), await limiter.take('k'), await limiter.take('k')]).toEqual([0, 0, 0])
    expect(await limiter.take('k')).toBe(10)
    vi.advanceTimersByTime(4_000)
    expect(await limiter.take('k')).toBe(6)
    vi.advanceTimersByTime(6_000)
    expect(await limiter.take('k')).toBe(0)
  })

  it('blocks for blockSeconds once the budget is spent', async () => {
    const limiter = Limiter.of(memoryStore(), 'b', { points: 1, durationSeconds: 1, blockSeconds: 60 })
    expect(await limiter.take('k')).toBe(0)
    expect(await limiter.take('k')).toBe(60)
    vi.advanceTimersByTime(30_000)
    expect(await limiter.take('k')).toBe(30)
  })

  it('keeps keys apart; reset forgets a key, refund gives a point back', async () => {
    const limiter = Limiter.of(memoryStore(), 'c', { points: 1, durationSeconds: 60 })
    expect(await limiter.take('ip-1')).toBe(0)
    expect(await limiter.take('ip-1')).toBe(60)
    expect(await limiter.take('ip-2')).toBe(0)
    await limiter.reset('ip-1')
    expect(await limiter.take('ip-1')).toBe(0)
    await limiter.refund('ip-2')
    expect(await limiter.take('ip-2')).toBe(0)
    expect(await limiter.take('ip-2')).toBeGreaterThan(0)
  })

  it('supports a cost per call, and a refusal never says 0 seconds', async () => {
    const limiter = Limiter.of(memoryStore(), 'd', { points: 5, durationSeconds: 1 })
    expect(await limiter.take('k', 4)).toBe(0)
    vi.advanceTimersByTime(999)
    expect(await limiter.take('k', 4)).toBe(1)
  })

  it('two stores are two budgets (memory counts per process)', async () => {
    const spec = { points: 1, durationSeconds: 60 }
    const a = Limiter.of(memoryStore(), 'e', spec)
    const b = Limiter.of(memoryStore(), 'e', spec)
    expect([await a.take('k'), await b.take('k')]).toEqual([0, 0])
  })
})

describe('callLimiter (capacity at once, perSecond sustained)', () => {
  it('allows a burst of `capacity`, then `perSecond` per second, retry in 1 s', async () => {
    const limiter = callLimiter(memoryStore(), 'ws', { capacity: 30, perSecond: 10 })
    const first = await Promise.all(Array.from({ length: 35 }, () => limiter.take('user:1')))
    expect(first.filter(r => r === 0)).toHaveLength(30)
    expect(first.filter(r => r > 0)).toEqual([1, 1, 1, 1, 1])
    // Another key has its own budget.
    expect(await limiter.take('user:2')).toBe(0)
    // The next second brings `perSecond` more, not a new burst.
    vi.advanceTimersByTime(1_000)
    const second = await Promise.all(Array.from({ length: 15 }, () => limiter.take('user:1')))
    expect(second.filter(r => r === 0)).toHaveLength(10)
  })
})
