import { randomUUID } from 'node:crypto'
import * as Y from 'yjs'
import { writerRoles, type Role } from '../../shared/schemas/common'
import type { DescriptionMessage } from '../../shared/schemas/description'
import { DomainError, notFound } from '../services/errors'
import type { Db } from '../utils/db'
import { logger } from '../utils/logger'
import { awarenessClients, checkUpdate, descriptionTiming, compact, fromBase64, newLiveDoc, readStoredUpdates, storeUpdate, textUpdate, toBase64, type Listener, type LiveDoc } from './descriptionDoc'
import { writeDescription } from './descriptionFollowUp'
import { MemoryDocBus, type DocBus, type DocBusMessage } from './docBus'
import { useServices } from '../container'

// Encoding, stored updates and compaction are in ./descriptionDoc.ts; re-exported for existing imports.
export { applyTextDiff, awarenessClients, compaction, descriptionTiming, fromBase64, initialUpdate, parseStateVector, toBase64 } from './descriptionDoc'

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
    const live = newLiveDoc(db, taskId, task.projectId)
    const doc = live.doc
    // Joined before reading, so nothing published while we read is missed (applying twice is harmless).
    const buffered: DocBusMessage[] = []
    let ready = false
    live.offBus = this.bus.subscribe(taskId, (message) => {
      if (message.from === this.instanceId) return
      if (!ready) buffered.push(message)
      else this.remote(live, message)
    })
    try {
      const rows = await readStoredUpdates(db, taskId, task.projectId)
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
    if (live.editors.length) this.enqueue(live, () => writeDescription(live))
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
      checkUpdate(live.doc, update)
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
    if (await storeUpdate(live, db, update)) this.enqueue(live, () => this.compact(db, live.taskId))
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
      const update = textUpdate(live.doc, description)
      if (!update) return
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
      this.enqueue(live, () => writeDescription(live))
    }, delay)
    live.settleTimer.unref?.()
  }

  /** Replaces a task's stored updates with one snapshot row: see {@link compact}. */
  async compact(db: Db, taskId: string) {
    await compact(db, taskId)
  }

  /** Writes pending descriptions, and waits for documents being closed (shutdown). */
  async stop() {
    if (this.stopped) return
    this.stopped = true
    await Promise.all([...this.closing])
    await Promise.all([...this.docs.values()].map(async (live) => {
      if (live.settleTimer) clearTimeout(live.settleTimer)
      live.settleTimer = null
      if (live.editors.length) this.enqueue(live, () => writeDescription(live))
      await live.chain
    }))
  }
}

export function useDescriptionHub(): DescriptionHub {
  return useServices().descriptions
}
