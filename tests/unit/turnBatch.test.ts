// The storm batcher on its own, on fake timers: who shares a query, and how long a batch waits.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BatchWindow, turnBatcher } from '../../server/realtime/turnBatch'

describe('turnBatcher', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('answers the calls of one window with one run of their distinct keys', async () => {
    vi.useFakeTimers()
    const runs: string[][] = []
    const batcher = turnBatcher(async (keys: string[]) => {
      runs.push(keys)
      return new Map(keys.map(k => [k, k.toUpperCase()]))
    }, { windowMs: 3 })
    const answers = Promise.all([batcher.load('a'), batcher.load('b'), batcher.load('a')])
    await vi.advanceTimersByTimeAsync(3)
    expect(await answers).toEqual(['A', 'B', 'A'])
    expect(runs).toEqual([['a', 'b']])
    expect(batcher.stats).toEqual({ batches: 1, calls: 3 })
  })

  it('waits the storm window right after a batch that had company, and the short one after a lone call', async () => {
    vi.useFakeTimers()
    const runs: string[][] = []
    const batcher = turnBatcher(async (keys: string[]) => {
      runs.push(keys)
      return new Map(keys.map(k => [k, k]))
    }, { windowMs: 3, stormWindowMs: 15 })
    // A lone call: answered after 3 ms.
    const lone = batcher.load('x')
    await vi.advanceTimersByTimeAsync(3)
    await lone
    expect(runs).toEqual([['x']])
    // Two together (a storm starts): 3 ms, since the last batch was alone.
    const pair = Promise.all([batcher.load('a'), batcher.load('b')])
    await vi.advanceTimersByTimeAsync(3)
    await pair
    // The storm is on: the next batch gathers for 15 ms, not 3.
    const first = batcher.load('c')
    await vi.advanceTimersByTimeAsync(3)
    expect(runs).toHaveLength(2)
    const later = batcher.load('d')
    await vi.advanceTimersByTimeAsync(12)
    await Promise.all([first, later])
    expect(runs).toEqual([['x'], ['a', 'b'], ['c', 'd']])
  })
})

describe('BatchWindow', () => {
  it('is short until a batch has company, and short again after a lone one', () => {
    const window = new BatchWindow(3, 15)
    expect(window.ms).toBe(3)
    window.record(40)
    expect(window.ms).toBe(15)
    window.record(1)
    expect(window.ms).toBe(3)
  })
})
