/**
 * How well `query` matches `text` as a fuzzy subsequence (every character of the query, in order,
 * case-insensitive), or null when it does not. Consecutive characters and word starts score higher,
 * so "fl" ranks "Fix login" above "careful", and an exact prefix ranks highest.
 */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.trim().toLowerCase()
  if (!q) return 0
  const t = text.toLowerCase()
  if (t.startsWith(q)) return 1000 - t.length
  const at = t.indexOf(q)
  if (at !== -1) return 500 - at + (at === 0 || /\W/.test(t[at - 1]!) ? 100 : 0)
  let score = 0
  let from = 0
  let previous = -2
  for (const char of q) {
    if (char === ' ') continue
    const i = t.indexOf(char, from)
    if (i === -1) return null
    score += i === previous + 1 ? 5 : 1
    if (i === 0 || /\W/.test(t[i - 1]!)) score += 3
    previous = i
    from = i + 1
  }
  return score
}

/** Items ordered by fuzzy score (best first), then recent ones first; items that do not match are left out. */
export function fuzzyRank<T>(items: readonly T[], query: string, textOf: (item: T) => string, recentRank: (item: T) => number = () => -1): T[] {
  const scored: { item: T, score: number, recent: number, index: number }[] = []
  items.forEach((item, index) => {
    const score = fuzzyScore(query, textOf(item))
    if (score !== null) scored.push({ item, score, recent: recentRank(item), index })
  })
  const recentBoost = (r: number) => (r < 0 ? 0 : 50 - Math.min(r, 49))
  return scored
    .sort((a, b) => (b.score + recentBoost(b.recent)) - (a.score + recentBoost(a.recent)) || a.index - b.index)
    .map(s => s.item)
}
