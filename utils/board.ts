import { generateKeyBetween } from 'fractional-indexing'

interface Positioned { id: string, position: string }

/** Column order: fractional position compared as plain strings, ties by id (as the server's compareTasks). */
export function comparePositions(a: Positioned, b: Positioned): number {
  return (a.position < b.position ? -1 : a.position > b.position ? 1 : 0)
    || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** A key strictly between two neighbours; tied neighbours (after concurrent moves) fall back to below the upper one, like the server. */
export function keyBetween(lower: string | null, upper: string | null): string {
  if (lower !== null && upper !== null && lower >= upper) return generateKeyBetween(lower, null)
  return generateKeyBetween(lower, upper)
}

/**
 * Where a drop lands in a column: the first card whose vertical middle is below the pointer
 * becomes the card below (beforeId), the one before it the card above (afterId).
 */
export function dropNeighbours(cards: { id: string, top: number, height: number }[], pointerY: number): { afterId: string | null, beforeId: string | null } {
  const index = cards.findIndex(c => pointerY < c.top + c.height / 2)
  if (index === -1) return { afterId: cards.at(-1)?.id ?? null, beforeId: null }
  return { afterId: cards[index - 1]?.id ?? null, beforeId: cards[index]!.id }
}
