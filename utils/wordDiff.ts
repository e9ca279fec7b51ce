import DiffMatchPatch from 'diff-match-patch'

export interface DiffPart {
  /** -1: only in the first text, 1: only in the second, 0: in both */
  op: -1 | 0 | 1
  text: string
}

const dmp = new DiffMatchPatch()
/** Words (letters, digits, _), runs of spaces, line breaks, and single punctuation marks. */
const TOKEN = /\n|[^\S\n]+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu

/**
 * A diff by whole words and lines, for people to read: "the <del>login</del> page", never a
 * character-by-character "lo<del>g</del>in". Each token becomes one character for
 * diff-match-patch (its line-mode trick, by word), then is turned back into text.
 */
export function wordDiff(from: string, to: string): DiffPart[] {
  const tokens: string[] = ['']
  const index = new Map<string, number>()
  const encode = (text: string) => (text.match(TOKEN) ?? []).map((token) => {
    let i = index.get(token)
    if (i === undefined) {
      i = tokens.length
      tokens.push(token)
      index.set(token, i)
    }
    return String.fromCharCode(i)
  }).join('')
  // A description is at most 20,000 characters: far fewer distinct tokens than 65,535.
  const diffs = dmp.diff_main(encode(from), encode(to), false)
  dmp.diff_cleanupSemantic(diffs)
  return diffs.map(([op, chars]) => ({ op: op as DiffPart['op'], text: chars.split('').map(c => tokens[c.charCodeAt(0)]).join('') }))
}
