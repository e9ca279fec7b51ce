import { describe, expect, it } from 'vitest'
import { wordDiff } from '../../utils/wordDiff'

const render = (a: string, b: string) => wordDiff(a, b).map(p => (p.op === -1 ? `[-${p.text}-]` : p.op === 1 ? `{+${p.text}+}` : p.text)).join('')

describe('wordDiff', () => {
  it('changes whole words, never parts of one', () => {
    expect(render('Open the login page', 'Open the logout page')).toBe('Open the [-login-]{+logout+} page')
    expect(render('Fix login on Safari', 'Fix the login form')).not.toMatch(/\w\[-|\w\{\+|-\]\w|\+\}\w/)
  })

  it('adds and removes whole lines', () => {
    const diff = wordDiff('Steps:\n1. Open the page', 'Steps:\n1. Open the page\n2. Type a wrong password')
    expect(diff).toEqual([{ op: 0, text: 'Steps:\n1. Open the page' }, { op: 1, text: '\n2. Type a wrong password' }])
  })

  it('gives both texts back exactly, unicode included', () => {
    const a = 'Grüße 👋 an alle\n\n- eins, zwei'
    const b = 'Grüße an 👋 alle!\n- eins; drei'
    const diff = wordDiff(a, b)
    expect(diff.filter(p => p.op !== 1).map(p => p.text).join('')).toBe(a)
    expect(diff.filter(p => p.op !== -1).map(p => p.text).join('')).toBe(b)
  })

  it('handles empty sides', () => {
    expect(wordDiff('', 'new text')).toEqual([{ op: 1, text: 'new text' }])
    expect(wordDiff('old', '')).toEqual([{ op: -1, text: 'old' }])
    expect(wordDiff('', '')).toEqual([])
  })
})
