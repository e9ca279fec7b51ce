import { describe, expect, it } from 'vitest'
import { compareTasks, keyBetween } from '../../server/services/taskOrdering'

describe('keyBetween', () => {
  it('gives a key strictly between two neighbours', () => {
    const first = keyBetween(null, null)
    const after = keyBetween(first, null)
    const before = keyBetween(null, first)
    const middle = keyBetween(first, after)
    expect(before < first && first < middle && middle < after).toBe(true)
  })

  it('keeps finding room between ever closer neighbours', () => {
    let lower = keyBetween(null, null)
    const upper = keyBetween(lower, null)
    for (let i = 0; i < 50; i++) {
      const next = keyBetween(lower, upper)
      expect(next > lower && next < upper).toBe(true)
      lower = next
    }
  })

  it('falls back to just after the lower key when neighbours tie or are out of order', () => {
    const a = keyBetween(null, null)
    const tie = keyBetween(a, a)
    expect(tie > a).toBe(true)
    const b = keyBetween(a, null)
    const swapped = keyBetween(b, a)
    expect(swapped > b).toBe(true)
  })
})

describe('compareTasks', () => {
  const t = (id: string, status: 'TODO' | 'IN_PROGRESS' | 'IN_REVIEW' | 'DONE', position: string) => ({ id, status, position })

  it('orders by column, then position as plain bytes, then id', () => {
    const tasks = [
      t('1', 'DONE', 'a0'),
      t('2', 'TODO', 'a1'),
      t('3', 'IN_REVIEW', 'a0'),
      t('4', 'TODO', 'Zz'),
      t('5', 'TODO', 'a0'),
      t('6', 'IN_PROGRESS', 'a0'),
      t('0', 'TODO', 'a0'),
    ]
    expect([...tasks].sort(compareTasks).map(x => x.id)).toEqual(['4', '0', '5', '2', '6', '3', '1'])
  })

  it('compares positions by code unit, not locale ("Z" < "a")', () => {
    expect(compareTasks(t('x', 'TODO', 'Z'), t('y', 'TODO', 'a'))).toBeLessThan(0)
    expect(compareTasks(t('x', 'TODO', 'a0V'), t('y', 'TODO', 'a0'))).toBeGreaterThan(0)
    expect(compareTasks(t('x', 'TODO', 'a0'), t('x', 'TODO', 'a0'))).toBe(0)
  })
})
