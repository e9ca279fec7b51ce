// The merge rules of task.update for a write based on an older version: pure functions, no I/O.
// Why these rules: docs/decisions/0004-conflict-merge.md.
import DiffMatchPatch from 'diff-match-patch'
import type { ConflictPolicy } from '../../shared/schemas/project'
import type { TaskPatch } from '../../shared/schemas/task'

export type PatchField = keyof TaskPatch

/** What the log says about a field since the writer's base version: its value at that version. */
export interface FieldHistory {
  base: unknown
}

export interface MergeInput {
  /** the task's fields as they are now ("theirs") */
  current: { [K in PatchField]: unknown }
  /** what the writer sends ("mine") */
  patch: TaskPatch
  /**
   * The fields changed since the writer's base version, with their value at that version. Fields
   * not in the map were not changed by anyone since then.
   */
  changedSince: ReadonlyMap<string, FieldHistory>
  policy: ConflictPolicy
}

export interface FieldConflict {
  field: PatchField
  base: unknown
  theirs: unknown
  mine: unknown
}

export interface MergeResult {
  /** the values to write (only fields that really change) */
  apply: TaskPatch
  /** fields both sides changed to different values: when not empty, nothing may be applied */
  conflicts: FieldConflict[]
}

/** Equality of field values: dates by time, arrays (labels) element by element. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]))
  return a === b
}

/**
 * Merges a stale patch into the current task, field by field:
 * - a field that already has the patch's value changes nothing and never conflicts;
 * - a field nobody changed since the base version (or changed and changed back) takes the patch's value;
 * - a field only the others changed (the patch sends the base value back) keeps their value;
 * - under `lastWriteWins`, every other field takes the patch's value too;
 * - under `merge`, a description changed on both sides is merged three-way; any other field changed
 *   on both sides to different values is a conflict.
 */
export function mergeTaskPatch({ current, patch, changedSince, policy }: MergeInput): MergeResult {
  const apply: Record<string, unknown> = {}
  const conflicts: FieldConflict[] = []
  for (const field of Object.keys(patch) as PatchField[]) {
    const mine = patch[field]
    if (mine === undefined) continue
    const theirs = current[field]
    if (sameValue(mine, theirs)) continue
    const history = changedSince.get(field)
    if (!history || sameValue(history.base, theirs) || policy === 'lastWriteWins') {
      apply[field] = mine
      continue
    }
    if (sameValue(mine, history.base)) continue
    if (field === 'description' && typeof history.base === 'string' && typeof theirs === 'string' && typeof mine === 'string') {
      const merged = mergeText(history.base, theirs, mine)
      if (merged !== null) {
        if (merged !== theirs) apply[field] = merged
        continue
      }
    }
    conflicts.push({ field, base: history.base, theirs, mine })
  }
  return { apply: apply as TaskPatch, conflicts }
}

/** One change a side made to the base text: base[start, end) replaced by `text`. */
interface Hunk {
  start: number
  end: number
  text: string
}

const dmp = new DiffMatchPatch()
// Bounds the time one diff may block the event loop (default 1 s); a diff cut short is coarser, which
// can only turn a merge into a conflict, never lose an edit.
dmp.Diff_Timeout = 0.2

/** The edits that turn `base` into `other`, in base order, grouped into human-sized hunks. */
function hunks(base: string, other: string): Hunk[] {
  const diffs = dmp.diff_main(base, other)
  // Word-sized edits instead of scattered characters: "quick"→"slow" is one edit, not four.
  dmp.diff_cleanupSemantic(diffs)
  const result: Hunk[] = []
  let pos = 0
  let hunk: Hunk | null = null
  for (const [op, text] of diffs) {
    if (op === DiffMatchPatch.DIFF_EQUAL) {
      if (hunk) result.push(hunk)
      hunk = null
      pos += text.length
      continue
    }
    hunk ??= { start: pos, end: pos, text: '' }
    if (op === DiffMatchPatch.DIFF_DELETE) {
      hunk.end += text.length
      pos += text.length
    }
    else {
      hunk.text += text
    }
  }
  if (hunk) result.push(hunk)
  return result
}

const sameHunk = (a: Hunk, b: Hunk) => a.start === b.start && a.end === b.end && a.text === b.text

/**
 * Three-way merge of a text both sides changed from `base` (diff-match-patch diffs). Returns the
 * merged text, or null when the two sides edited overlapping or touching stretches of the base
 * (then neither can be kept without losing the other; identical edits on both sides are fine).
 *
 * diff-match-patch's own `patch_apply` is not used for this: it applies patches fuzzily, so an
 * edit of a sentence the other side rewrote would "apply cleanly" and silently replace their words.
 */
export function mergeText(base: string, theirs: string, mine: string): string | null {
  if (mine === base || mine === theirs) return theirs
  if (theirs === base) return mine
  const edits: Hunk[] = []
  const a = hunks(base, theirs)
  const b = hunks(base, mine)
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    const x = a[i]
    const y = b[j]
    if (x && y) {
      if (sameHunk(x, y)) {
        edits.push(x)
        i++
        j++
        continue
      }
      // Touching counts as overlapping: two insertions at one place have no obvious order, and an
      // edit right next to another one is an edit of the same phrase.
      if (x.start <= y.end && y.start <= x.end) return null
    }
    if (x && (!y || x.start < y.start)) {
      edits.push(x)
      i++
    }
    else {
      edits.push(y!)
      j++
    }
  }
  let merged = ''
  let pos = 0
  for (const edit of edits) {
    merged += base.slice(pos, edit.start) + edit.text
    pos = edit.end
  }
  return merged + base.slice(pos)
}
