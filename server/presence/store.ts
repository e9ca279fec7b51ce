import { Redis } from 'ioredis'
import { logger } from '../utils/logger'

export type PresenceStatus = 'available' | 'away' | 'dnd'
export type TypingField = 'description' | 'comment'

/** One connection's presence in one project, as every instance sees it. */
export interface PresenceEntry {
  connId: string
  userId: string
  username: string
  name: string
  /** the user's chosen status when the entry was written */
  status: PresenceStatus
  /** this tab is idle or hidden (auto-away when all of a user's tabs are) */
  idle: boolean
  taskId: string | null
  typing: { taskId: string, field: TypingField, until: number } | null
  onlineSince: number
  /** the entry counts until then; heartbeats push it forward (a crashed instance's entries lapse) */
  expiresAt: number
}

/** Where presence entries live: this process, or Redis for several instances. */
export interface PresenceStore {
  put: (projectId: string, entry: PresenceEntry) => Promise<void>
  remove: (projectId: string, connId: string) => Promise<void>
  /** Entries not yet expired. */
  list: (projectId: string, now: number) => Promise<PresenceEntry[]>
  /** Called whenever some instance changed the project's presence. */
  watch: (projectId: string, onChange: () => void) => () => void
  /** Tells every instance a user chose a status (they rewrite that user's entries). */
  announceStatus: (userId: string, status: PresenceStatus) => Promise<void>
  onStatus: (listener: (userId: string, status: PresenceStatus) => void) => void
  close: () => Promise<void>
}

/** A tiny listener registry keyed by string. */
class Listeners<T extends unknown[]> {
  private readonly map = new Map<string, Set<(...args: T) => void>>()
  add(key: string, fn: (...args: T) => void): () => void {
    let set = this.map.get(key)
    if (!set) this.map.set(key, (set = new Set()))
    set.add(fn)
    return () => {
      set.delete(fn)
      if (!set.size) this.map.delete(key)
    }
  }

  emit(key: string, ...args: T) {
    for (const fn of [...(this.map.get(key) ?? [])]) {
      try {
        fn(...args)
      }
      catch (error) {
        logger.error('presence listener failed', { message: (error as Error).message })
      }
    }
  }

  count(key: string) {
    return this.map.get(key)?.size ?? 0
  }
}

export class MemoryPresenceStore implements PresenceStore {
  private readonly projects = new Map<string, Map<string, PresenceEntry>>()
  private readonly changes = new Listeners<[]>()
  private readonly statusListeners: ((userId: string, status: PresenceStatus) => void)[] = []

  async put(projectId: string, entry: PresenceEntry) {
    let entries = this.projects.get(projectId)
    if (!entries) this.projects.set(projectId, (entries = new Map()))
    entries.set(entry.connId, entry)
    this.changes.emit(projectId)
  }

  async remove(projectId: string, connId: string) {
    const entries = this.projects.get(projectId)
    if (!entries?.delete(connId)) return
    if (!entries.size) this.projects.delete(projectId)
    this.changes.emit(projectId)
  }

  async list(projectId: string, now: number) {
    const entries = this.projects.get(projectId)
    if (!entries) return []
    for (const [connId, entry] of entries) if (entry.expiresAt <= now) entries.delete(connId)
    return [...entries.values()]
  }

  watch(projectId: string, onChange: () => void) {
    return this.changes.add(projectId, onChange)
  }

  async announceStatus(userId: string, status: PresenceStatus) {
    for (const listener of this.statusListeners) listener(userId, status)
  }

  onStatus(listener: (userId: string, status: PresenceStatus) => void) {
    this.statusListeners.push(listener)
  }

  async close() {}
}

const key = (projectId: string) => `tt:presence:${projectId}`
const channel = (projectId: string) => `tt:presence-changed:${projectId}`
const STATUS_CHANNEL = 'tt:presence-status'
/** The project hash outlives its entries a little; a project nobody is on disappears by itself. */
const HASH_TTL_MS = 120_000

/**
 * Presence across instances: one hash per project (`tt:presence:<projectId>`, field = connection
 * id, value = the entry as JSON with its own `expiresAt`), refreshed by each instance's heartbeats,
 * and a channel per project that says "changed" so the other instances re-read it. Entries of a
 * crashed instance stop being refreshed and lapse; readers drop and delete them.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly redis: Redis
  private readonly subscriber: Redis
  private readonly changes = new Listeners<[]>()
  private readonly statusListeners: ((userId: string, status: PresenceStatus) => void)[] = []

  constructor(url: string) {
    this.redis = new Redis(url, { connectionName: `tt-presence-${process.pid}`, maxRetriesPerRequest: 2 })
    this.subscriber = new Redis(url, { connectionName: `tt-presence-${process.pid}:sub` })
    for (const conn of [this.redis, this.subscriber]) conn.on('error', error => logger.warn('presence Redis connection error', { message: error.message }))
    this.subscriber.on('message', (ch: string, message: string) => {
      if (ch === STATUS_CHANNEL) {
        try {
          const { userId, status } = JSON.parse(message) as { userId: string, status: PresenceStatus }
          for (const listener of this.statusListeners) listener(userId, status)
        }
        catch {
          logger.warn('ignoring a malformed presence status message')
        }
        return
      }
      this.changes.emit(ch.slice('tt:presence-changed:'.length))
    })
    void this.subscriber.subscribe(STATUS_CHANNEL).catch(() => {})
  }

  async put(projectId: string, entry: PresenceEntry) {
    await this.redis.multi()
      .hset(key(projectId), entry.connId, JSON.stringify(entry))
      .pexpire(key(projectId), HASH_TTL_MS)
      .publish(channel(projectId), entry.connId)
      .exec()
  }

  async remove(projectId: string, connId: string) {
    await this.redis.multi().hdel(key(projectId), connId).publish(channel(projectId), connId).exec()
  }

  async list(projectId: string, now: number) {
    const raw = await this.redis.hgetall(key(projectId))
    const live: PresenceEntry[] = []
    const lapsed: string[] = []
    for (const [connId, json] of Object.entries(raw)) {
      try {
        const entry = JSON.parse(json) as PresenceEntry
        if (entry.expiresAt > now) live.push(entry)
        else lapsed.push(connId)
      }
      catch {
        lapsed.push(connId)
      }
    }
    if (lapsed.length) await this.redis.hdel(key(projectId), ...lapsed)
    return live
  }

  watch(projectId: string, onChange: () => void) {
    if (this.changes.count(projectId) === 0) void this.subscriber.subscribe(channel(projectId)).catch(() => {})
    const off = this.changes.add(projectId, onChange)
    return () => {
      off()
      if (this.changes.count(projectId) === 0) void this.subscriber.unsubscribe(channel(projectId)).catch(() => {})
    }
  }

  async announceStatus(userId: string, status: PresenceStatus) {
    await this.redis.publish(STATUS_CHANNEL, JSON.stringify({ userId, status }))
  }

  onStatus(listener: (userId: string, status: PresenceStatus) => void) {
    this.statusListeners.push(listener)
  }

  async close() {
    this.redis.disconnect()
    this.subscriber.disconnect()
  }
}
