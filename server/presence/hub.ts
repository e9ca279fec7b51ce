// Over 300 lines: one class whose two halves (this instance's entries, the projects it watches) share timers and state; its pure parts are in ./state.ts.
import { logger } from '../utils/logger'
import { DomainError } from '../services/errors'
import { aggregate, same, type PresenceMessage, type PresenceState } from './state'
import type { PresenceEntry, PresenceStatus, PresenceStore, TypingField } from './store'
import { useServices } from '../container'

// What the hub sends and how it aggregates entries live in ./state.ts; re-exported for existing imports.
export { aggregate, type PresenceMessage, type PresenceState } from './state'

export const presenceTiming = {
  /** an entry lapses this long after its last heartbeat (a crashed instance's users go offline) */
  entryTtlMs: 30_000,
  heartbeatMs: 10_000,
  /** every watched project is re-read this often, to notice lapsed entries */
  sweepMs: 10_000,
  typingMs: 5_000,
  /** patches to a project's subscribers are coalesced into at most one per this interval */
  flushMs: 100,
  /** `lastSeenAt` is written at most this often while a user stays online */
  lastSeenWriteMs: 60_000,
}

export interface PresenceUser {
  id: string
  username: string
  name: string
  status: PresenceStatus
}

export interface PresenceHubOptions {
  now?: () => number
  /** Persists `lastSeenAt` for users (on disconnect, and at most once a minute while online). */
  onSeen?: (userIds: string[], at: Date) => Promise<unknown>
}

type Push = (message: PresenceMessage) => void

interface Watch {
  subscribers: Set<Push>
  view: Map<string, PresenceState> | null
  /** serialises recomputes */
  running: Promise<void> | null
  again: boolean
  flushTimer: ReturnType<typeof setTimeout> | null
  typingTimer: ReturnType<typeof setTimeout> | null
  lastFlush: number
  unwatch: () => void
}

/**
 * This instance's presence: the connections it serves (heartbeated into the store) and the projects
 * its sockets watch (re-read on every change notice, diffed, and sent as coalesced patches).
 */
export class PresenceHub {
  private readonly now: () => number
  private readonly local = new Map<string, Map<string, PresenceEntry>>()
  private readonly watches = new Map<string, Watch>()
  private readonly lastSeenWritten = new Map<string, number>()
  private readonly timers: ReturnType<typeof setInterval>[] = []

  constructor(readonly store: PresenceStore, private readonly options: PresenceHubOptions = {}) {
    this.now = options.now ?? Date.now
    store.onStatus((userId, status) => void this.applyStatus(userId, status))
  }

  /** Heartbeats and sweeps on timers (the app); tests call `heartbeat()` / `sweep()` themselves. */
  start() {
    this.timers.push(setInterval(() => void this.heartbeat(), presenceTiming.heartbeatMs).unref())
    this.timers.push(setInterval(() => void this.sweep(), presenceTiming.sweepMs).unref())
    return this
  }

  async stop() {
    for (const timer of this.timers.splice(0)) clearInterval(timer)
    const connIds = [...this.local.keys()]
    await Promise.all(connIds.map(id => this.connectionClosed(id)))
    for (const watch of this.watches.values()) this.dropWatch(watch)
    this.watches.clear()
  }

  /** BAD_REQUEST unless this connection joined the project's presence (which checked membership). */
  assertJoined(connId: string, projectId: string) {
    this.entry(connId, projectId)
  }

  private entry(connId: string, projectId: string): PresenceEntry {
    const entry = this.local.get(connId)?.get(projectId)
    if (!entry) throw new DomainError('BAD_REQUEST', 'Subscribe to presence.onProject for this project on this connection first')
    return entry
  }

  private async write(projectId: string, entry: PresenceEntry) {
    entry.expiresAt = this.now() + presenceTiming.entryTtlMs
    await this.store.put(projectId, { ...entry })
  }

  async join(connId: string, projectId: string, user: PresenceUser) {
    let projects = this.local.get(connId)
    if (!projects) this.local.set(connId, (projects = new Map()))
    const entry: PresenceEntry = {
      connId,
      userId: user.id,
      username: user.username,
      name: user.name,
      status: user.status,
      idle: false,
      taskId: null,
      typing: null,
      onlineSince: this.now(),
      expiresAt: 0,
    }
    projects.set(projectId, entry)
    await this.write(projectId, entry)
  }

  async leave(connId: string, projectId: string) {
    const projects = this.local.get(connId)
    const entry = projects?.get(projectId)
    if (!projects || !entry) return
    projects.delete(projectId)
    if (!projects.size) this.local.delete(connId)
    await this.store.remove(projectId, connId).catch(error => logger.warn('presence remove failed', { message: (error as Error).message }))
    if (!this.userHasLocalEntries(entry.userId)) await this.seen([entry.userId], true)
  }

  async connectionClosed(connId: string) {
    const projects = this.local.get(connId)
    if (!projects) return
    await Promise.all([...projects.keys()].map(projectId => this.leave(connId, projectId)))
  }

  async update(connId: string, projectId: string, patch: { taskId?: string | null, idle?: boolean }) {
    const entry = this.entry(connId, projectId)
    if (patch.taskId !== undefined) entry.taskId = patch.taskId
    if (patch.idle !== undefined) entry.idle = patch.idle
    if (entry.typing && patch.taskId !== undefined && entry.typing.taskId !== patch.taskId) entry.typing = null
    await this.write(projectId, entry)
  }

  async typing(connId: string, projectId: string, taskId: string, field: TypingField) {
    const entry = this.entry(connId, projectId)
    entry.typing = { taskId, field, until: this.now() + presenceTiming.typingMs }
    entry.idle = false
    await this.write(projectId, entry)
  }

  /** A user chose a status: every instance rewrites that user's entries. */
  async setStatus(userId: string, status: PresenceStatus) {
    await this.store.announceStatus(userId, status)
  }

  private async applyStatus(userId: string, status: PresenceStatus) {
    const writes: Promise<void>[] = []
    for (const projects of this.local.values()) {
      for (const [projectId, entry] of projects) {
        if (entry.userId !== userId) continue
        entry.status = status
        writes.push(this.write(projectId, entry))
      }
    }
    await Promise.all(writes).catch(error => logger.warn('presence status write failed', { message: (error as Error).message }))
  }

  private userHasLocalEntries(userId: string) {
    for (const projects of this.local.values()) for (const entry of projects.values()) if (entry.userId === userId) return true
    return false
  }

  /** Keeps this instance's entries alive, and `lastSeenAt` of its users fresh (at most once a minute). */
  async heartbeat() {
    const writes: Promise<void>[] = []
    const users = new Set<string>()
    for (const projects of this.local.values()) {
      for (const [projectId, entry] of projects) {
        users.add(entry.userId)
        writes.push(this.write(projectId, entry))
      }
    }
    await Promise.all(writes).catch(error => logger.warn('presence heartbeat failed', { message: (error as Error).message }))
    await this.seen([...users], false)
  }

  private async seen(userIds: string[], force: boolean) {
    if (!this.options.onSeen || !userIds.length) return
    const now = this.now()
    const due = force ? userIds : userIds.filter(id => now - (this.lastSeenWritten.get(id) ?? 0) >= presenceTiming.lastSeenWriteMs)
    if (!due.length) return
    for (const id of due) this.lastSeenWritten.set(id, now)
    for (const id of userIds) if (force) this.lastSeenWritten.delete(id)
    await this.options.onSeen(due, new Date(now)).catch(error => logger.warn('lastSeenAt write failed', { message: (error as Error).message }))
  }

  /** Re-reads every watched project (lapsed entries of crashed instances turn into "offline"). */
  async sweep() {
    await Promise.all([...this.watches.entries()].map(([projectId, watch]) => this.recompute(projectId, watch)))
  }

  /**
   * Watches a project for `push`: resolves with the current members (send them first); later
   * changes arrive as patches relative to that snapshot.
   */
  async subscribe(projectId: string, push: Push): Promise<{ snapshot: PresenceMessage, unsubscribe: () => void }> {
    let watch = this.watches.get(projectId)
    if (!watch) {
      const created: Watch = {
        subscribers: new Set(),
        view: null,
        running: null,
        again: false,
        flushTimer: null,
        typingTimer: null,
        lastFlush: 0,
        unwatch: () => {},
      }
      created.unwatch = this.store.watch(projectId, () => this.schedule(projectId, created))
      this.watches.set(projectId, created)
      watch = created
    }
    if (!watch.view) await this.recompute(projectId, watch)
    const snapshot: PresenceMessage = { kind: 'snapshot', members: [...(watch.view ?? new Map()).values()] }
    watch.subscribers.add(push)
    const current = watch
    return {
      snapshot,
      unsubscribe: () => {
        current.subscribers.delete(push)
        if (!current.subscribers.size && this.watches.get(projectId) === current) {
          this.dropWatch(current)
          this.watches.delete(projectId)
        }
      },
    }
  }

  private dropWatch(watch: Watch) {
    watch.unwatch()
    if (watch.flushTimer) clearTimeout(watch.flushTimer)
    if (watch.typingTimer) clearTimeout(watch.typingTimer)
  }

  /** Coalesces change notices: at most one recompute per `flushMs` per project. */
  private schedule(projectId: string, watch: Watch) {
    if (watch.flushTimer) return
    const wait = Math.max(0, watch.lastFlush + presenceTiming.flushMs - this.now())
    watch.flushTimer = setTimeout(() => {
      watch.flushTimer = null
      void this.recompute(projectId, watch)
    }, wait)
  }

  private async recompute(projectId: string, watch: Watch): Promise<void> {
    if (watch.running) {
      watch.again = true
      return watch.running
    }
    watch.running = (async () => {
      do {
        watch.again = false
        watch.lastFlush = this.now()
        try {
          const now = this.now()
          const entries = await this.store.list(projectId, now)
          this.publish(watch, aggregate(entries, now), now)
          const typingEnds = entries.map(e => e.typing?.until ?? 0).filter(until => until > now)
          this.scheduleTypingExpiry(projectId, watch, typingEnds.length ? Math.min(...typingEnds) - now : null)
        }
        catch (error) {
          logger.warn('presence refresh failed', { projectId, message: (error as Error).message })
        }
      } while (watch.again)
    })()
    try {
      await watch.running
    }
    finally {
      watch.running = null
    }
  }

  private publish(watch: Watch, next: Map<string, PresenceState>, now: number) {
    const previous = watch.view
    watch.view = next
    if (!previous) return
    const upsert: PresenceState[] = []
    for (const [userId, state] of next) {
      const before = previous.get(userId)
      if (!before || !same(before, state)) upsert.push(state)
    }
    const offline = [...previous.keys()].filter(id => !next.has(id)).map(userId => ({ userId, lastSeenAt: new Date(now) }))
    if (!upsert.length && !offline.length) return
    const patch: PresenceMessage = { kind: 'patch', upsert, offline }
    for (const push of watch.subscribers) push(patch)
  }

  /** Typing ends by itself: re-read when the earliest typing line expires. */
  private scheduleTypingExpiry(projectId: string, watch: Watch, inMs: number | null) {
    if (watch.typingTimer) clearTimeout(watch.typingTimer)
    watch.typingTimer = null
    if (inMs === null) return
    watch.typingTimer = setTimeout(() => {
      watch.typingTimer = null
      this.schedule(projectId, watch)
    }, inMs + 10)
  }

  /** Watched projects and local connections (tests, metrics). */
  stats() {
    return { connections: this.local.size, watchedProjects: this.watches.size }
  }
}

/** The installed hub (server/container.ts; a Redis store with REDIS_URL). */
export function usePresenceHub(): PresenceHub {
  return useServices().presence
}
