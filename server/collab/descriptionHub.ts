import { randomUUID } from 'node:crypto'
import DiffMatchPatch from 'diff-match-patch'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { writerRoles, type Role } from '../../shared/schemas/common'
import type { DescriptionMessage } from '../../shared/schemas/description'
import { taskDescriptionSchema } from '../../shared/schemas/task'
import { DomainError, notFound } from '../services/errors'
import { lockProject, transaction } from '../services/events'
import { updateTask } from '../services/task'
import type { Db } from '../utils/db'
import { logger } from '../utils/logger'
import { MemoryDocBus, type DocBus, type DocBusMessage } from './docBus'
import { useServices } from '../container'

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

const MAX_DESCRIPTION = 20_000

export const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
/** For Prisma's `Bytes`, typed as a Uint8Array over an ArrayBuffer (Yjs says ArrayBufferLike). */
const stored = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>
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

type Listener = (message: DescriptionMessage) => void

interface LiveDoc {
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
 * This instance's open description documents (issue 17, docs/decisions/0019-live-description-yjs.md).
 *
 * - A document is loaded from its stored updates when the first stream (or an API edit) needs it,
 *   kept while streams are open, and dropped (after writing the text and compacting) when the last
 *   one ends.
 * - An update is stored first, then applied, sent to this instance's streams and published on the
 *   bus: other instances with the document open apply it and send it to theirs. A mutation answers
 *   once its update is stored, so a restart loses nothing that was acknowledged.
 * - `Task.description` follows through the normal task path (updateTask: event, notifications,
 *   search) once edits settle.
 */
export class DescriptionHub {
  readonly instanceId = randomUUID()
  private readonly docs = new Map<string, LiveDoc>()
  private readonly loading = new Map<string, Promise<LiveDoc>>()
  private stopped = false
  /** documents being closed: their last write and compaction */
  private readonly closing = new Set<Promise<void>>()

  constructor(readonly bus: DocBus = new MemoryDocBus(), private readonly now: () => number = Date.now) {}

  /** Open documents (tests, metrics). */
  openCount(): number {
    return this.docs.size
  }

  private async acquire(db: Db, taskId: string): Promise<LiveDoc> {
    for (;;) {
      const live = this.docs.get(taskId)
      if (live) {
        live.refs++
        return live
      }
      let pending = this.loading.get(taskId)
      if (!pending) {
        pending = this.load(db, taskId).finally(() => this.loading.delete(taskId))
        this.loading.set(taskId, pending)
      }
      await pending
    }
  }

  private async load(db: Db, taskId: string): Promise<LiveDoc> {
    const task = await db.task.findUnique({ where: { id: taskId }, select: { projectId: true, deletedAt: true } })
    if (!task || task.deletedAt) throw notFound('Task', taskId)
    const doc = new Y.Doc()
    const live: LiveDoc = {
      taskId,
      projectId: task.projectId,
      doc,
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
    // Joined before reading, so nothing published while we read is missed (applying twice is harmless).
    const buffered: DocBusMessage[] = []
    let ready = false
    live.offBus = this.bus.subscribe(taskId, (message) => {
      if (message.from === this.instanceId) return
      if (!ready) buffered.push(message)
      else this.remote(live, message)
    })
    try {
      let rows = await db.taskDocUpdate.findMany({ where: { taskId }, orderBy: { id: 'asc' }, select: { data: true } })
      if (rows.length === 0) {
        // Under the project lock that description writes hold: the text read is the one to start from.
        await transaction(db, async (tx) => {
          await lockProject(tx, task.projectId)
          if (await tx.taskDocUpdate.count({ where: { taskId } })) return
          const { description } = await tx.task.findUniqueOrThrow({ where: { id: taskId }, select: { description: true } })
          await tx.taskDocUpdate.create({ data: { taskId, data: stored(initialUpdate(description)), snapshot: true } })
        })
        rows = await db.taskDocUpdate.findMany({ where: { taskId }, orderBy: { id: 'asc' }, select: { data: true } })
      }
      Y.transact(doc, () => {
        for (const row of rows) Y.applyUpdate(doc, row.data)
      })
      live.rowsStored = rows.length
      live.bytesStored = rows.reduce((sum, row) => sum + row.data.byteLength, 0)
    }
    catch (error) {
      live.offBus()
      doc.destroy()
      throw error
    }
    ready = true
    for (const message of buffered) this.remote(live, message)
    this.docs.set(taskId, live)
    return live
  }

  private remote(live: LiveDoc, message: DocBusMessage) {
    const data = fromBase64(message.data)
    if (message.kind === 'update') {
      try {
        Y.applyUpdate(live.doc, data, 'remote')
      }
      catch (error) {
        logger.error('ignoring a malformed description update from the bus', { taskId: live.taskId, message: (error as Error).message })
        return
      }
      this.deliver(live, { kind: 'update', update: message.data })
    }
    else {
      this.rememberAwareness(live, data)
      this.deliver(live, { kind: 'awareness', update: message.data })
    }
  }

  private deliver(live: LiveDoc, message: DescriptionMessage) {
    for (const listener of [...live.listeners]) listener(message)
  }

  private rememberAwareness(live: LiveDoc, data: Uint8Array) {
    const at = this.now()
    for (const { clientId, removed } of awarenessClients(data)) {
      if (removed) live.awareness.delete(clientId)
      else live.awareness.set(clientId, { data, at })
    }
  }

  private async release(live: LiveDoc) {
    live.refs--
    if (live.refs > 0 || this.docs.get(live.taskId) !== live) return
    this.docs.delete(live.taskId)
    live.offBus()
    // The last editor left: write the text now and compact.
    if (live.settleTimer) clearTimeout(live.settleTimer)
    live.settleTimer = null
    if (live.editors.length) this.enqueue(live, () => this.writeDescription(live))
    this.enqueue(live, () => this.compact(live.db, live.taskId))
    const closed = live.chain.then(() => live.doc.destroy())
    this.closing.add(closed)
    await closed
    this.closing.delete(closed)
  }

  private enqueue(live: LiveDoc, job: () => Promise<void>) {
    live.chain = live.chain.then(job).catch((error: Error) => {
      logger.error('description background write failed', { taskId: live.taskId, message: error.message })
    })
  }

  /** The caller's role in the task's project (cached briefly); NOT_FOUND for non-members, as for the task. */
  private async role(live: LiveDoc, db: Db, userId: string): Promise<Role> {
    const cached = live.roles.get(userId)
    let role = cached && this.now() - cached.at < descriptionTiming.roleCacheMs ? cached.role : undefined
    if (role === undefined) {
      const member = await db.projectMember.findUnique({ where: { projectId_userId: { projectId: live.projectId, userId } }, select: { role: true } })
      role = member?.role ?? null
      live.roles.set(userId, { role, at: this.now() })
    }
    if (!role) throw notFound('Task', live.taskId)
    return role
  }

  /** NOT_FOUND unless `userId` may read the task (a member of its project; the task not deleted). Before a stream starts. */
  async checkRead(db: Db, userId: string, taskId: string) {
    const task = await db.task.findUnique({ where: { id: taskId }, select: { projectId: true, deletedAt: true } })
    if (!task || task.deletedAt) throw notFound('Task', taskId)
    const member = await db.projectMember.findUnique({ where: { projectId_userId: { projectId: task.projectId, userId } }, select: { role: true } })
    if (!member) throw notFound('Task', taskId)
  }

  /**
   * Opens the task's document for a stream of `userId` (a member): the first message is what the
   * client lacks against `stateVector`, with the server's state vector and the other tabs' cursors;
   * then live updates and awareness. `close()` ends it.
   */
  async open(db: Db, userId: string, taskId: string, stateVector: Uint8Array | undefined, listener: Listener) {
    const live = await this.acquire(db, taskId)
    let role: Role
    try {
      role = await this.role(live, db, userId)
    }
    catch (error) {
      await this.release(live)
      throw error
    }
    const cutoff = this.now() - descriptionTiming.awarenessTtlMs
    const first: DescriptionMessage = {
      kind: 'sync',
      update: toBase64(Y.encodeStateAsUpdate(live.doc, stateVector)),
      stateVector: toBase64(Y.encodeStateVector(live.doc)),
      awareness: [...new Set([...live.awareness.values()].filter(a => a.at >= cutoff).map(a => a.data))].map(toBase64),
      canWrite: writerRoles.includes(role),
    }
    live.listeners.add(listener)
    let closed = false
    return {
      first,
      projectId: live.projectId,
      close: async () => {
        if (closed) return
        closed = true
        live.listeners.delete(listener)
        await this.release(live)
      },
    }
  }

  /** A Yjs update from a member (viewers: FORBIDDEN): stored, applied, sent to every stream on every instance. */
  async applyUpdate(db: Db, userId: string, taskId: string, update: Uint8Array) {
    const live = await this.acquire(db, taskId)
    try {
      const role = await this.role(live, db, userId)
      if (!writerRoles.includes(role)) throw new DomainError('FORBIDDEN', `Your role (${role}) cannot change task ${taskId}`)
      // Checked before anything is stored: malformed updates, and text over the limit, are refused.
      // Decoding costs the size of the update, not of the document.
      let inserted = 0
      try {
        for (const struct of Y.decodeUpdate(update).structs) {
          if (struct instanceof Y.Item && struct.content instanceof Y.ContentString) inserted += struct.length
        }
      }
      catch {
        throw new DomainError('BAD_REQUEST', 'Not a Yjs update', { field: 'update' })
      }
      if (inserted > 0 && live.doc.getText('description').length + inserted > MAX_DESCRIPTION) {
        throw new DomainError('BAD_REQUEST', `At most ${MAX_DESCRIPTION} characters`, { field: 'update' })
      }
      await this.store(live, db, update)
      this.applyLocal(live, update)
      live.editors = [...live.editors.filter(id => id !== userId), userId]
      this.scheduleSettle(live)
    }
    finally {
      await this.release(live)
    }
  }

  private async store(live: LiveDoc, db: Db, update: Uint8Array) {
    await db.taskDocUpdate.create({ data: { taskId: live.taskId, data: stored(update) } })
    live.rowsStored++
    live.bytesStored += update.byteLength
    if (live.rowsStored >= compaction.rows || live.bytesStored >= compaction.bytes) {
      live.rowsStored = 0
      live.bytesStored = 0
      this.enqueue(live, () => this.compact(db, live.taskId))
    }
  }

  private applyLocal(live: LiveDoc, update: Uint8Array) {
    Y.applyUpdate(live.doc, update, 'local')
    const data = toBase64(update)
    this.deliver(live, { kind: 'update', update: data })
    this.bus.publish({ from: this.instanceId, taskId: live.taskId, kind: 'update', data })
  }

  /** This tab's cursor and name: relayed to every stream of the task (readers too: a viewer's cursor is no write). */
  async awareness(db: Db, userId: string, taskId: string, update: Uint8Array) {
    const live = await this.acquire(db, taskId)
    try {
      await this.role(live, db, userId)
      try {
        this.rememberAwareness(live, update)
      }
      catch {
        throw new DomainError('BAD_REQUEST', 'Not an awareness update', { field: 'awareness' })
      }
      const data = toBase64(update)
      this.deliver(live, { kind: 'awareness', update: data })
      this.bus.publish({ from: this.instanceId, taskId, kind: 'awareness', data })
    }
    finally {
      await this.release(live)
    }
  }

  /**
   * `Task.description` set through the API (`task.update`): the same change made in the document, as
   * a text diff, so open editors see it and keep their cursors. Nothing to do for a task whose
   * document was never opened (it starts from `Task.description` when it is).
   */
  async syncFromTask(db: Db, taskId: string, description: string) {
    if (!this.docs.has(taskId) && !this.loading.has(taskId) && (await db.taskDocUpdate.count({ where: { taskId } })) === 0) return
    const live = await this.acquire(db, taskId)
    try {
      const scratch = new Y.Doc()
      Y.applyUpdate(scratch, Y.encodeStateAsUpdate(live.doc))
      const before = Y.encodeStateVector(scratch)
      applyTextDiff(scratch.getText('description'), description)
      const update = Y.encodeStateAsUpdate(scratch, before)
      scratch.destroy()
      if (update.byteLength <= 2) return
      await this.store(live, db, update)
      this.applyLocal(live, update)
    }
    finally {
      await this.release(live)
    }
  }

  private scheduleSettle(live: LiveDoc) {
    const now = this.now()
    live.firstPendingAt ??= now
    if (live.settleTimer) clearTimeout(live.settleTimer)
    const delay = Math.max(0, Math.min(descriptionTiming.settleMs, live.firstPendingAt + descriptionTiming.maxSettleMs - now))
    live.settleTimer = setTimeout(() => {
      live.settleTimer = null
      this.enqueue(live, () => this.writeDescription(live))
    }, delay)
    live.settleTimer.unref?.()
  }

  /**
   * Writes the document's text to `Task.description` through updateTask, as the latest editor who
   * may still write (their event carries the change; the notifier sends new @mentions once).
   */
  private async writeDescription(live: LiveDoc) {
    const editors = live.editors
    live.editors = []
    live.firstPendingAt = null
    const text = live.doc.getText('description').toString().slice(0, MAX_DESCRIPTION)
    const description = taskDescriptionSchema.safeParse(text).success ? text : text.replace(/\0/g, '')
    for (const editor of [...editors].reverse()) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const task = await live.db.task.findUnique({ where: { id: live.taskId }, select: { version: true, description: true, deletedAt: true } })
        if (!task || task.deletedAt || task.description === description) return
        try {
          await updateTask(live.db, editor, { id: live.taskId, baseVersion: task.version, patch: { description } })
          return
        }
        catch (error) {
          if (error instanceof DomainError && error.code === 'CONFLICT') continue
          if (error instanceof DomainError && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND')) break
          throw error
        }
      }
    }
  }

  /**
   * Replaces a task's stored updates with one snapshot row (deleted text collected). No transaction:
   * the snapshot is inserted before the rows it covers are deleted, so a crash in between leaves
   * duplicates (applying an update twice changes nothing) and writers on other instances are never
   * blocked; rows stored meanwhile have higher ids and stay.
   */
  async compact(db: Db, taskId: string) {
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

  /** Writes pending descriptions, and waits for documents being closed (shutdown). */
  async stop() {
    if (this.stopped) return
    this.stopped = true
    await Promise.all([...this.closing])
    await Promise.all([...this.docs.values()].map(async (live) => {
      if (live.settleTimer) clearTimeout(live.settleTimer)
      live.settleTimer = null
      if (live.editors.length) this.enqueue(live, () => this.writeDescription(live))
      await live.chain
    }))
  }
}

export function useDescriptionHub(): DescriptionHub {
  return useServices().descriptions
}
