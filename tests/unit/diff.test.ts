import { describe, expect, it } from 'vitest'
import { diffFields } from '../../server/services/events'
import { deriveKey } from '../../server/services/project'

describe('diffFields', () => {
  const before = { title: 'A', labels: ['x', 'y'], dueDate: new Date('2030-01-01T00:00:00Z') as Date | null, assigneeId: 'u1' as string | null }

  it('returns only fields whose value really changes, with from and to', () => {
    expect(diffFields(before, { title: 'B', labels: ['x', 'y'] })).toEqual({ title: { from: 'A', to: 'B' } })
    expect(diffFields(before, { assigneeId: null })).toEqual({ assigneeId: { from: 'u1', to: null } })
  })

  it('ignores undefined patch values', () => {
    expect(diffFields(before, { title: undefined })).toEqual({})
  })

  it('compares dates by time and arrays by element, in order', () => {
    expect(diffFields(before, { dueDate: new Date('2030-01-01T00:00:00Z') })).toEqual({})
    expect(diffFields(before, { dueDate: new Date('2030-01-02T00:00:00Z') })).toEqual({ dueDate: { from: before.dueDate, to: new Date('2030-01-02T00:00:00Z') } })
    expect(diffFields(before, { dueDate: null })).toEqual({ dueDate: { from: before.dueDate, to: null } })
    expect(diffFields({ ...before, dueDate: null }, { dueDate: null })).toEqual({})
    expect(diffFields(before, { labels: ['y', 'x'] })).toEqual({ labels: { from: ['x', 'y'], to: ['y', 'x'] } })
    expect(diffFields(before, { labels: ['x'] })).toEqual({ labels: { from: ['x', 'y'], to: ['x'] } })
  })
})

describe('deriveKey', () => {
  it.each([
    ['Website relaunch', 'WR'],
    ['api', 'API'],
    ['Marketing', 'MARK'],
    ['x', 'XX'],
    ['2024 plans', 'P2P'],
    ['123', 'P123'],
    ['web-app v2', 'WAV'],
    ['one two three four five six seven eight nine ten eleven', 'OTTFFSSENT'],
    ['   ', 'PX'],
  ])('%s → %s', (name, key) => {
    expect(deriveKey(name)).toBe(key)
  })

  it('always yields a valid project key', () => {
    for (const name of ['Website relaunch', '!!!', '9', 'a b', 'Ω']) expect(deriveKey(name)).toMatch(/^[A-Z][A-Z0-9]{1,9}$/)
  })
})
