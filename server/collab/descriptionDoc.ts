import DiffMatchPatch from 'diff-match-patch'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import type { Role } from '../../shared/schemas/common'
import type { DescriptionMessage } from '../../shared/schemas/description'
import { DomainError } from '../services/errors'
import { lockProject, transaction } from '../services/events'
import type { Db } from '../utils/db'

/** A description document's encoding, its stored updates and their compaction (the hub keeps documents open: ./descriptionHub.ts). */

export const descriptionTiming = {
  /** `Task.description` is written this long after the last edit ("settled") … */
  settleMs: 2_000,
  /** … or at the latest this long after the first unwritten edit, while someone keeps typing */
  maxSettleMs: 15_000,
  /** a member's role is re-read after this long (a removed member stops writing within it) */
  roleCacheMs: 5_000,
  /** remote cursors not renewed for this long are dropped from the first message of a stream */
  awarenessTtlMs: 30_000,
}

export const compaction = {
  /** stored update rows of a task that trigger a compaction into one snapshot row */
  rows: 200,
  /** … or their bytes */
  bytes: 256 * 1024,
}

export const MAX_DESCRIPTION = 20_000

export const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
/** For Prisma's `Bytes`, typed as a Uint8Array over an ArrayBuffer (Yjs says ArrayBufferLike). */
export const stored = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>
export const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))

/** A client's Yjs state vector (base64), checked before a stream starts: one that does not decode is BAD_REQUEST. */
export function parseStateVector(text: string): Uint8Array {
  const bytes = fromBase64(text)
  try {
    Y.decodeStateVector(bytes)
  }
  catch {
    throw new DomainError('BAD_REQUEST', 'Not a Yjs state vector', { field: 'stateVector' })
  }
  return bytes
}

export type Listener = (message: DescriptionMessage) => void

export interface LiveDoc {
  taskId: string
  projectId: string
  doc: Y.Doc
  db: Db
  listeners: Set<Listener>
  /** subscribers + temporary users (an API edit of a closed document) */
  refs: number
  offBus: () => void
  /** latest awareness update per Yjs client id */
  awareness: Map<number, { data: Uint8Array, at: number }>
  roles: Map<string, { role: Role | null, at: number }>
  /** who edited since `Task.description` was last written, latest last */
  editors: string[]
  settleTimer: ReturnType<typeof setTimeout> | null
  firstPendingAt: number | null
  rowsStored: number
  bytesStored: number
  /** serialises writes of Task.description and compactions */
  chain: Promise<void>
}

/** Client ids of a y-protocols awareness update, with whether each state is removed (`null`). */
export function awarenessClients(update: Uint8Array): { clientId: number, removed: boolean }[] {
  const decoder = decoding.createDecoder(update)
  const count = decoding.readVarUint(decoder)
  if (count > 64) throw new Error('too many awareness states')
  const out: { clientId: number, removed: boolean }[] = []
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder)
    decoding.readVarUint(decoder) // clock
    const state = decoding.readVarString(decoder)
    out.push({ clientId, removed: state === 'null' })
  }
  return out
}

/** The Yjs edit turning `from` into `to` with as little change as a text diff gives (kept text keeps its identity). */
export function applyTextDiff(text: Y.Text, to: string) {
  const from = text.toString()
  if (from === to) return
  const dmp = new DiffMatchPatch()
  const diffs = dmp.diff_main(from, to)
  dmp.diff_cleanupSemantic(diffs)
  let index = 0
  for (const [op, chunk] of diffs) {
    if (op === DiffMatchPatch.DIFF_EQUAL) index += chunk.length
    else if (op === DiffMatchPatch.DIFF_DELETE) text.delete(index, chunk.length)
    else {
      text.insert(index, chunk)
      index += chunk.length
    }
  }
}

/**
 * The first state of a document made from a task's description: written by client id 0, so two
 * instances making it from the same text make the same update (applying both is applying one).
 */
export function initialUpdate(description: string): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = 0
  if (description) doc.getText('description').insert(0, description)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

/**
 * Replaces a task's stored updates with one snapshot row (deleted text collected). No transaction:
 * the snapshot is inserted before the rows it covers are deleted, so a crash in between leaves
 * duplicates (applying an update twice changes nothing) and writers on other instances are never
 * blocked; rows stored meanwhile have higher ids and stay.
 */
export async function compact(db: Db, taskId: string) {
  const rows = await db.taskDocUpdate.findMany({ where: { taskId }, orderBy: { id: 'asc' }, select: { id: true, data: true } })
  if (rows.length <= 1) return
  const doc = new Y.Doc()
  Y.transact(doc, () => {
    for (const row of rows) Y.applyUpdate(doc, row.data)
  })
  const snapshot = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  await db.taskDocUpdate.create({ data: { taskId, data: stored(snapshot), snapshot: true } })
  await db.taskDocUpdate.deleteMany({ where: { taskId, id: { lte: rows.at(-1)!.id } } })
}

/** A document's state before it is loaded: no listeners, nothing stored counted yet. */
export function newLiveDoc(db: Db, taskId: string, projectId: string): LiveDoc {
  return {
    taskId,
    projectId,
    doc: new Y.Doc(),
    db,
    listeners: new Set(),
    refs: 0,
    offBus: () => {},
    awareness: new Map(),
    roles: new Map(),
    editors: [],
    settleTimer: null,
    firstPendingAt: null,
    rowsStored: 0,
    bytesStored: 0,
    chain: Promise.resolve(),
  }
}

/** A task's stored updates, oldest first; a task that has none gets its first one, made from `Task.description`. */
export async function readStoredUpdates(db: Db, taskId: string, projectId: string): Promise<{ data: Uint8Array }[]> {
  const rows = await db.taskDocUpdate.findMany({ where: { taskId }, orderBy: { id: 'asc' }, select: { data: true } })
  if (rows.length) return rows
  // Under the project lock that description writes hold: the text read is the one to start from.
  await transaction(db, async (tx) => {
    await lockProject(tx, projectId)
    if (await tx.taskDocUpdate.count({ where: { taskId } })) return
    const { description } = await tx.task.findUniqueOrThrow({ where: { id: taskId }, select: { description: true } })
    await tx.taskDocUpdate.create({ data: { taskId, data: stored(initialUpdate(description)), snapshot: true } })
  })
  return db.taskDocUpdate.findMany({ where: { taskId }, orderBy: { id: 'asc' }, select: { data: true } })
}

/**
 * Refuses, before anything is stored, a malformed update and one that would take the text over
 * {@link MAX_DESCRIPTION}. Decoding costs the size of the update, not of the document.
 */
export function checkUpdate(doc: Y.Doc, update: Uint8Array) {
  let inserted = 0
  try {
    for (const struct of Y.decodeUpdate(update).structs) {
      if (struct instanceof Y.Item && struct.content instanceof Y.ContentString) inserted += struct.length
    }
  }
  catch {
    throw new DomainError('BAD_REQUEST', 'Not a Yjs update', { field: 'update' })
  }
  if (inserted > 0 && doc.getText('description').length + inserted > MAX_DESCRIPTION) {
    throw new DomainError('BAD_REQUEST', `At most ${MAX_DESCRIPTION} characters`, { field: 'update' })
  }
}

/** The update that turns the document's text into `description` (a text diff), or null when they are the same. */
export function textUpdate(doc: Y.Doc, description: string): Uint8Array | null {
  const scratch = new Y.Doc()
  Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc))
  const before = Y.encodeStateVector(scratch)
  applyTextDiff(scratch.getText('description'), description)
  const update = Y.encodeStateAsUpdate(scratch, before)
  scratch.destroy()
  return update.byteLength <= 2 ? null : update
}

/** Stores an update of an open document; true when its stored rows are due for a {@link compact}ion. */
export async function storeUpdate(live: LiveDoc, db: Db, update: Uint8Array): Promise<boolean> {
  await db.taskDocUpdate.create({ data: { taskId: live.taskId, data: stored(update) } })
  live.rowsStored++
  live.bytesStored += update.byteLength
  if (live.rowsStored < compaction.rows && live.bytesStored < compaction.bytes) return false
  live.rowsStored = 0
  live.bytesStored = 0
  return true
}
