import { RedisChannels } from './redisChannels'
import { logger } from '../utils/logger'

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

let bus: RevocationBus = new MemoryRevocationBus()

export function useRevocationBus(): RevocationBus {
  return bus
}

/** Replaces the process-wide revocation bus (Redis at start, a fresh one in tests); returns the previous one. */
export function setRevocationBus(next: RevocationBus): RevocationBus {
  const previous = bus
  bus = next
  return previous
}

/** Ends the sockets of a credential on every instance (services call this after the change committed). */
export function revokeSockets(revocation: Revocation): void {
  useRevocationBus().publish(revocation)
}
