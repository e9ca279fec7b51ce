import { RedisChannels } from './redisChannels'
import { logger } from '../utils/logger'
import { useServices } from '../container'

/**
 * A credential that no longer signs anyone in: every socket it (or a ticket it minted) opened must
 * close, on every instance. Exactly one of the three shapes:
 * - `sessionId`: a session ended (sign-out, rotation at sign-in);
 * - `apiTokenId`: a personal API token was revoked;
 * - `userId`: all of a user's credentials changed (password change, removal), except the
 *   sockets of `exceptSessionId` (the session that changed the password) when given.
 */
export type Revocation
  = | { sessionId: string }
    | { apiTokenId: string }
    | { userId: string, exceptSessionId?: string }

export type RevocationListener = (revocation: Revocation) => void

/**
 * Carries revocations to every instance's socket registry. At-most-once, like the other buses: the
 * registry's periodic re-check of each socket's credential catches a lost message.
 */
export interface RevocationBus {
  /** Fire and forget. */
  publish: (revocation: Revocation) => void
  /** Returns the unsubscribe function. */
  subscribe: (listener: RevocationListener) => () => void
}

export class MemoryRevocationBus implements RevocationBus {
  private readonly listeners = new Set<RevocationListener>()

  publish(revocation: Revocation): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(revocation)
      }
      catch (error) {
        logger.error('revocation listener failed', { message: (error as Error).message })
      }
    }
  }

  subscribe(listener: RevocationListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

function isRevocation(value: unknown): value is Revocation {
  if (!value || typeof value !== 'object') return false
  const v = value as Record<string, unknown>
  const str = (x: unknown) => typeof x === 'string' && x.length > 0 && x.length <= 128
  if ('sessionId' in v) return str(v.sessionId)
  if ('apiTokenId' in v) return str(v.apiTokenId)
  if ('userId' in v) return str(v.userId) && (v.exceptSessionId === undefined || str(v.exceptSessionId))
  return false
}

/** The one channel every instance listens on (revocations are rare: no per-user channels needed). */
const REVOCATION_PREFIX = 'tt:revoke:'
const REVOCATION_KEY = 'all'

/** Redis pub/sub on `tt:revoke:all`, joined for the life of the bus. */
export class RedisRevocationBus implements RevocationBus {
  private readonly local = new MemoryRevocationBus()
  private readonly channels: RedisChannels<Revocation>
  private readonly leave: () => void

  constructor(url: string, options: { name?: string } = {}) {
    this.channels = new RedisChannels<Revocation>({
      url,
      name: options.name ?? `tt-revoke-${process.pid}`,
      prefix: REVOCATION_PREFIX,
      label: 'revocation bus',
      encode: revocation => JSON.stringify(revocation),
      decode: (_, raw) => {
        const value = JSON.parse(raw) as unknown
        if (!isRevocation(value)) throw new Error('not a revocation')
        return value
      },
      deliver: (_, revocation) => this.local.publish(revocation),
    })
    this.leave = this.channels.join(REVOCATION_KEY)
  }

  publish(revocation: Revocation): void {
    this.channels.publish(REVOCATION_KEY, revocation, { revocation: Object.keys(revocation)[0] })
  }

  subscribe(listener: RevocationListener): () => void {
    return this.local.subscribe(listener)
  }

  /** Resolves once connected and subscribed (tests). */
  ready(): Promise<void> {
    return this.channels.ready()
  }

  async close(): Promise<void> {
    this.leave()
    await this.channels.close()
  }
}

/**
 * How long a revocation is remembered: a WebSocket ticket's life (60 s) and the clock tolerance its
 * check allows (5 s), plus a margin for the bus's delay. A ticket older than this is refused anyway.
 */
export const RECENT_REVOCATION_MS = 75_000

/** What the recent revocations say about a ticket's credential. */
export type RecentVerdict = 'clear' | 'revoked' | 'check'

/**
 * Revocations of the last {@link RECENT_REVOCATION_MS}, as the bus brought them (from any instance):
 * lets a WebSocket ticket be accepted without a database read. A ticket bound to a session or API
 * token named here is `revoked` (neither comes back); one of a user whose credentials all changed
 * (password change, removal) is `check`: only the database knows which sessions survived, so the
 * ticket takes the database path. The bus is at-most-once, like for open sockets: a lost message is
 * caught by the socket registry's periodic re-check (RECHECK_MS).
 */
export class RecentRevocations {
  private readonly sessions = new Map<string, number>()
  private readonly tokens = new Map<string, number>()
  private readonly users = new Map<string, number>()

  constructor(private readonly keepMs = RECENT_REVOCATION_MS, private readonly now: () => number = Date.now) {}

  add(revocation: Revocation): void {
    const at = this.now()
    this.prune(at)
    const [map, id] = 'sessionId' in revocation
      ? [this.sessions, revocation.sessionId]
      : 'apiTokenId' in revocation ? [this.tokens, revocation.apiTokenId] : [this.users, revocation.userId]
    // Delete first so that the map stays in time order (pruning stops at the first recent entry).
    map.delete(id)
    map.set(id, at)
  }

  verdict(credential: { userId: string, sessionId?: string, apiTokenId?: string }): RecentVerdict {
    this.prune(this.now())
    if (credential.sessionId && this.sessions.has(credential.sessionId)) return 'revoked'
    if (credential.apiTokenId && this.tokens.has(credential.apiTokenId)) return 'revoked'
    return this.users.has(credential.userId) ? 'check' : 'clear'
  }

  /** Entries remembered (tests, metrics). */
  get size(): number {
    return this.sessions.size + this.tokens.size + this.users.size
  }

  private prune(now: number) {
    const before = now - this.keepMs
    for (const map of [this.sessions, this.tokens, this.users]) {
      for (const [id, at] of map) {
        if (at >= before) break
        map.delete(id)
      }
    }
  }
}

export function useRevocationBus(): RevocationBus {
  return useServices().revocations
}

/** The revocations of the last {@link RECENT_REVOCATION_MS} on the installed bus (WebSocket tickets consult it). */
export function recentRevocations(): RecentRevocations {
  return useServices().recentRevocations
}

/** Ends the sockets of a credential on every instance (services call this after the change committed). */
export function revokeSockets(revocation: Revocation): void {
  // Remembered here at once too: the bus may lose a message (Redis down), this instance must not.
  recentRevocations().add(revocation)
  useRevocationBus().publish(revocation)
}
