import { describe, expect, it } from 'vitest'
import { mergeTaskPatch, mergeText, sameValue, type MergeInput } from '../../server/services/merge'

const current: MergeInput['current'] = {
  title: 'Fix login',
  description: 'The login form forgets the email.',
  status: 'IN_PROGRESS',
  priority: 'HIGH',
  assigneeId: 'ana',
  dueDate: new Date('2030-01-01T00:00:00.000Z'),
  labels: ['bug', 'ui'],
}

function merge(patch: MergeInput['patch'], changed: Record<string, unknown>, policy: MergeInput['policy'] = 'merge') {
  const changedSince = new Map(Object.entries(changed).map(([field, base]) => [field, { base }]))
  return mergeTaskPatch({ current, patch, changedSince, policy })
}

describe('mergeText (three-way, diff-match-patch)', () => {
  const base = 'The quick brown fox jumps over the lazy dog.'

  it('merges edits of different parts of the text', () => {
    const theirs = 'The quick red fox jumps over the lazy dog.'
    const mine = 'The quick brown fox jumps over the sleepy dog.'
    expect(mergeText(base, theirs, mine)).toBe('The quick red fox jumps over the sleepy dog.')
    // Symmetric: the order of the sides does not matter for a clean merge.
    expect(mergeText(base, mine, theirs)).toBe('The quick red fox jumps over the sleepy dog.')
  })

  it('merges additions at both ends and across paragraphs', () => {
    const b = 'Steps:\n1. open the page\n2. type the email\n\nExpected: it stays.'
    const theirs = `Context: Safari only.\n\n${b}`
    const mine = `${b.replace('2. type the email', '2. type the email\n3. reload')}\n\nSee also WEB-3.`
    expect(mergeText(b, theirs, mine)).toBe('Context: Safari only.\n\nSteps:\n1. open the page\n2. type the email\n3. reload\n\nExpected: it stays.\n\nSee also WEB-3.')
  })

  it('is a conflict when both sides rewrite the same words differently', () => {
    expect(mergeText(base, 'The quick red fox jumps over the lazy dog.', 'The quick green fox jumps over the lazy dog.')).toBeNull()
  })

  it('is a conflict when one side edits inside a passage the other deleted', () => {
    const theirs = 'The quick brown fox.'
    const mine = 'The quick brown fox jumps over the very lazy dog.'
    expect(mergeText(base, theirs, mine)).toBeNull()
  })

  it('is a conflict when both sides insert at the same place (no order to pick)', () => {
    expect(mergeText('ab', 'aXb', 'aYb')).toBeNull()
  })

  it('does not let a fuzzy match overwrite the other side\'s rewrite', () => {
    // diff-match-patch's patch_apply would "apply" mine onto theirs here and drop "there".
    expect(mergeText('hello world', 'hello there', 'hello earth')).toBeNull()
  })

  it('takes the same edit made on both sides once', () => {
    const both = 'The quick brown fox jumps over the lazy cat.'
    expect(mergeText(base, both, both)).toBe(both)
    expect(mergeText(base, 'A quick brown fox jumps over the lazy cat.', both)).toBe('A quick brown fox jumps over the lazy cat.')
  })

  it('no-op sides: an unchanged side takes the other one', () => {
    expect(mergeText(base, base, 'mine')).toBe('mine')
    expect(mergeText(base, 'theirs', base)).toBe('theirs')
    expect(mergeText('', '', 'new text')).toBe('new text')
    expect(mergeText('', 'a', 'b')).toBeNull()
  })

  it('keeps characters outside the basic plane intact', () => {
    expect(mergeText('👍 ok\nbye', '👍 okay\nbye', '👍 ok\nbye 👋')).toBe('👍 okay\nbye 👋')
  })
})

describe('mergeTaskPatch', () => {
  it('applies fields nobody else changed since the base version', () => {
    const result = merge({ title: 'Fix login on Safari', priority: 'URGENT' }, { status: 'TODO', labels: ['bug'] })
    expect(result).toEqual({ apply: { title: 'Fix login on Safari', priority: 'URGENT' }, conflicts: [] })
  })

  it('is a conflict when a field was changed on both sides to different values', () => {
    const result = merge({ title: 'Mine', priority: 'LOW' }, { title: 'Original', status: 'TODO' })
    expect(result.conflicts).toEqual([{ field: 'title', base: 'Original', theirs: 'Fix login', mine: 'Mine' }])
  })

  it('setting a field to the value it already has is neither a change nor a conflict', () => {
    expect(merge({ title: 'Fix login', priority: 'HIGH' }, { title: 'Old', priority: 'LOW' })).toEqual({ apply: {}, conflicts: [] })
    // Dates by time, labels as arrays.
    expect(merge({ dueDate: new Date('2030-01-01T00:00:00.000Z'), labels: ['bug', 'ui'] }, { dueDate: null, labels: [] })).toEqual({ apply: {}, conflicts: [] })
  })

  it('labels compare as arrays, in order', () => {
    const result = merge({ labels: ['ui', 'bug'] }, { labels: ['bug'] })
    expect(result.conflicts).toEqual([{ field: 'labels', base: ['bug'], theirs: ['bug', 'ui'], mine: ['ui', 'bug'] }])
    expect(merge({ labels: ['bug', 'ui', 'x'] }, {}).apply).toEqual({ labels: ['bug', 'ui', 'x'] })
  })

  it('a field only the others changed keeps their value when the patch sends the base value back', () => {
    expect(merge({ priority: 'LOW', title: 'New' }, { priority: 'LOW' })).toEqual({ apply: { title: 'New' }, conflicts: [] })
  })

  it('a field changed and changed back by the others counts as unchanged', () => {
    expect(merge({ assigneeId: 'ben' }, { assigneeId: 'ana' })).toEqual({ apply: { assigneeId: 'ben' }, conflicts: [] })
  })

  it('merges a description changed on both sides, or reports the conflict', () => {
    const base = 'The login form forgets the mail.'
    const clean = merge({ description: 'The login form forgets the mail. Happens on Safari.' }, { description: base })
    expect(clean).toEqual({ apply: { description: 'The login form forgets the email. Happens on Safari.' }, conflicts: [] })
    const unclean = merge({ description: 'The login form forgets the address.' }, { description: base })
    expect(unclean.apply).toEqual({})
    expect(unclean.conflicts).toEqual([{ field: 'description', base, theirs: current.description, mine: 'The login form forgets the address.' }])
  })

  it('null and dates: an assignee removed on one side and changed on the other conflicts', () => {
    const result = merge({ assigneeId: null, dueDate: new Date('2031-01-01T00:00:00.000Z') }, { assigneeId: 'ben', dueDate: new Date('2029-01-01T00:00:00.000Z') })
    expect(result.conflicts.map(c => c.field)).toEqual(['assigneeId', 'dueDate'])
  })

  it('under lastWriteWins the patch wins every field it changes', () => {
    const result = merge({ title: 'Mine', description: 'Mine too', priority: 'HIGH' }, { title: 'Original', description: 'Base' }, 'lastWriteWins')
    expect(result).toEqual({ apply: { title: 'Mine', description: 'Mine too' }, conflicts: [] })
  })

  it('ignores undefined patch fields', () => {
    expect(merge({ title: undefined, priority: 'NONE' }, { title: 'x' })).toEqual({ apply: { priority: 'NONE' }, conflicts: [] })
  })
})

describe('sameValue', () => {
  it('compares dates by time, arrays by element, the rest strictly', () => {
    expect(sameValue(new Date(5), new Date(5))).toBe(true)
    expect(sameValue(new Date(5), 5)).toBe(false)
    expect(sameValue(null, new Date(5))).toBe(false)
    expect(sameValue(['a'], ['a'])).toBe(true)
    expect(sameValue(['a'], ['a', 'b'])).toBe(false)
    expect(sameValue(null, undefined)).toBe(false)
    expect(sameValue('1', 1)).toBe(false)
  })
})
