import { liveApiTokenIds } from '../services/apiToken'
import { liveSessionIds } from '../services/session'
import type { Context } from '../trpc/context'
import type { Db } from '../utils/db'
import { logger } from '../utils/logger'
import type { Revocation, RevocationBus } from './revocation'
import { LiveSocket } from './liveSocket'
import { closeWithGrace } from './sendGate'
import { socketMetrics } from './socketMetrics'
import type { SocketSlots } from './socketSlots'

/** The socket's session or token was revoked, expired or ended (sign-out, password change): sign in again. */
export const CLOSE_UNAUTHORIZED = 4401
/** The socket did not authenticate within WS_AUTH_TIMEOUT_SECONDS. */
export const CLOSE_AUTH_TIMEOUT = 4408
/** Too many sockets for this user (WS_MAX_PER_USER) or this address (WS_MAX_PER_IP). */
export const CLOSE_TOO_MANY_SOCKETS = 4429

export { LiveSocket }

/** How often each socket's credential is checked again (catches expiry and lost revocations). */
export const RECHECK_MS = 15_000

export interface SocketRegistryOptions {
  maxPerUser: number
  maxPerIp: number
  authTimeoutMs: number
  /** Period of the credential re-check; 0 = never (tests call `recheck()`). */
  recheckMs: number
  revocations: RevocationBus
  slots: SocketSlots
  database: () => Promise<Db>
  /**
   * Keep-alive, for every socket by one sweeping timer: a socket quiet for `pingMs` is sent `PING`
   * (through its send gate), and terminated when nothing came back `pongWaitMs` later. The sweep runs
   * every `pongWaitMs`, so a ping leaves after `pingMs` to `pingMs + pongWaitMs` of quiet and a dead
   * socket is cut `pongWaitMs` to twice that after its ping. Absent: no keep-alive.
   */
  keepAlive?: { pingMs: number, pongWaitMs: number }
  /** Called once when a socket has closed (after the registry let it go). */
  onClose?: (live: LiveSocket, code: number, reason: Buffer) => void
}

function addTo(map: Map<string, Set<LiveSocket>>, key: string, live: LiveSocket) {
  let set = map.get(key)
  if (!set) map.set(key, set = new Set())
  set.add(live)
}

function removeFrom(map: Map<string, Set<LiveSocket>>, key: string | undefined | null, live: LiveSocket) {
  if (!key) return
  const set = map.get(key)
  if (!set) return
  set.delete(live)
  if (set.size === 0) map.delete(key)
}

function chunks<T>(items: T[], size = 1_000): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * This instance's sockets, by user, session and API token: caps sockets per user and per address,
 * closes sockets that never authenticate, and closes the sockets of a credential when a revocation
 * arrives on the bus (from any instance) or when the periodic re-check finds it gone or expired.
 */
export class SocketRegistry {
  private readonly sockets = new Set<LiveSocket>()
  private readonly byUser = new Map<string, Set<LiveSocket>>()
  private readonly bySession = new Map<string, Set<LiveSocket>>()
  private readonly byToken = new Map<string, Set<LiveSocket>>()
  private readonly unsubscribe: () => void
  private readonly timer: ReturnType<typeof setInterval> | undefined
  private readonly keepAliveTimer: ReturnType<typeof setInterval> | undefined
  private rechecking: Promise<number> | null = null

  constructor(private readonly options: SocketRegistryOptions) {
    this.unsubscribe = options.revocations.subscribe(revocation => this.revoke(revocation))
    if (options.recheckMs > 0) {
      this.timer = setInterval(() => {
        this.recheck().catch((error: Error) => logger.error('re-checking the credentials of open sockets failed', { message: error.message }))
      }, options.recheckMs)
      this.timer.unref()
    }
    if (options.keepAlive) {
      this.keepAliveTimer = setInterval(() => this.sweep(), options.keepAlive.pongWaitMs)
      this.keepAliveTimer.unref()
    }
  }

  /** One keep-alive pass over every socket (see {@link SocketRegistryOptions}.keepAlive). */
  sweep(now = Date.now()) {
    const { pingMs, pongWaitMs } = this.options.keepAlive ?? { pingMs: 30_000, pongWaitMs: 5_000 }
    for (const live of this.sockets) {
      if (live.closed) continue
      if (live.pingedAt) {
        if (live.seenAt >= live.pingedAt) live.pingedAt = 0
        else if (now - live.pingedAt >= pongWaitMs) live.socket.terminate()
        continue
      }
      if (now - live.seenAt >= pingMs) {
        live.pingedAt = now
        if (live.gate) live.gate.send('PING')
        else live.socket.send('PING')
      }
    }
  }

  /**
   * A socket opened: counts it, takes its address's slot, and gives it WS_AUTH_TIMEOUT_SECONDS to
   * authenticate. Its owner calls {@link closed} when it closes.
   */
  open<T extends LiveSocket>(live: T): T {
    const { ip } = live
    this.sockets.add(live)
    socketMetrics.open++
    socketMetrics.opened++
    live.authTimer = setTimeout(() => {
      live.authTimer = undefined
      if (live.userId || live.closing) return
      // A credential being checked right now (a slow database) decides when it answers.
      if (live.authPending) live.authTimedOut = true
      else this.closeAuthTimeout(live)
    }, this.options.authTimeoutMs)
    live.authTimer.unref?.()
    live.admitted = this.take(live, `ip:${ip}`, this.options.maxPerIp).then((ok) => {
      if (!ok) {
        socketMetrics.refusedPerIp++
        this.close(live, CLOSE_TOO_MANY_SOCKETS, `Too many connections from your address (at most ${this.options.maxPerIp})`)
      }
      return ok
    })
    return live
  }

  /** Called when the socket's context is being created (its credential is being checked). */
  authenticating(live: LiveSocket) {
    live.authPending = true
  }

  /**
   * The socket's context is ready: a signed-in socket takes a slot of its user (or is closed with
   * 4429) and is filed under its session / token. False when the socket must not serve the user.
   */
  async authenticated(live: LiveSocket, ctx: Pick<Context, 'user' | 'credential'>): Promise<boolean> {
    live.authPending = false
    if (!ctx.user) {
      if (live.authTimedOut) this.closeAuthTimeout(live)
      return false
    }
    if (live.closing || live.closed) return false
    if (live.authTimer) clearTimeout(live.authTimer)
    live.authTimer = undefined
    if (!(await this.take(live, `user:${ctx.user.id}`, this.options.maxPerUser))) {
      socketMetrics.refusedPerUser++
      this.close(live, CLOSE_TOO_MANY_SOCKETS, `Too many connections for this account (at most ${this.options.maxPerUser})`)
      return false
    }
    if (live.closing || live.closed) return false
    live.userId = ctx.user.id
    live.sessionId = ctx.credential?.sessionId
    live.apiTokenId = ctx.credential?.apiTokenId
    addTo(this.byUser, live.userId, live)
    if (live.sessionId) addTo(this.bySession, live.sessionId, live)
    if (live.apiTokenId) addTo(this.byToken, live.apiTokenId, live)
    return true
  }

  private async take(live: LiveSocket, key: string, max: number): Promise<boolean> {
    let ok: boolean
    try {
      ok = await this.options.slots.acquire(key, live.connId, max)
    }
    catch (error) {
      logger.error('counting a socket failed; letting it in', { key: key.split(':')[0], message: (error as Error).message })
      ok = true
    }
    if (!ok) return false
    // Closed while its slot was being taken: give the slot back at once.
    if (live.closed) this.options.slots.release(key, live.connId)
    else live.keys.push(key)
    return true
  }

  /** Closes the sockets a revocation names (on this instance). */
  revoke(revocation: Revocation): number {
    let matches: Iterable<LiveSocket>
    if ('sessionId' in revocation) matches = this.bySession.get(revocation.sessionId) ?? []
    else if ('apiTokenId' in revocation) matches = this.byToken.get(revocation.apiTokenId) ?? []
    else {
      const except = revocation.exceptSessionId
      matches = [...(this.byUser.get(revocation.userId) ?? [])].filter(live => !except || live.sessionId !== except)
    }
    let n = 0
    for (const live of [...matches]) {
      if (this.closeRevoked(live)) n++
    }
    return n
  }

  /**
   * Checks every signed-in socket's session, API token and user against the database (expired,
   * deleted, revoked while a bus message was lost) and closes those that no longer sign in.
   * Returns how many it closed.
   */
  recheck(): Promise<number> {
    this.rechecking ??= this.runRecheck().finally(() => {
      this.rechecking = null
    })
    return this.rechecking
  }

  private async runRecheck(): Promise<number> {
    if (this.byUser.size === 0) return 0
    const sessionIds = [...this.bySession.keys()]
    const tokenIds = [...this.byToken.keys()]
    const userIds = [...this.byUser.keys()]
    const db = await this.options.database()
    const now = new Date()
    const liveSessions = new Set<string>()
    const liveTokens = new Set<string>()
    const liveUsers = new Set<string>()
    for (const ids of chunks(sessionIds)) for (const id of await liveSessionIds(db, ids, now)) liveSessions.add(id)
    for (const ids of chunks(tokenIds)) for (const id of await liveApiTokenIds(db, ids, now)) liveTokens.add(id)
    for (const ids of chunks(userIds)) {
      for (const { id } of await db.user.findMany({ where: { id: { in: ids } }, select: { id: true } })) liveUsers.add(id)
    }
    let n = 0
    const closeAll = (set: Set<LiveSocket> | undefined) => {
      for (const live of [...(set ?? [])]) {
        if (this.closeRevoked(live)) n++
      }
    }
    for (const id of sessionIds) if (!liveSessions.has(id)) closeAll(this.bySession.get(id))
    for (const id of tokenIds) if (!liveTokens.has(id)) closeAll(this.byToken.get(id))
    for (const id of userIds) if (!liveUsers.has(id)) closeAll(this.byUser.get(id))
    return n
  }

  private closeRevoked(live: LiveSocket): boolean {
    if (live.closing) return false
    socketMetrics.closedRevoked++
    this.close(live, CLOSE_UNAUTHORIZED, 'Signed out: sign in again')
    return true
  }

  private closeAuthTimeout(live: LiveSocket) {
    if (live.closing || live.userId) return
    socketMetrics.closedAuthTimeout++
    this.close(live, CLOSE_AUTH_TIMEOUT, `Not signed in within ${this.options.authTimeoutMs / 1000} s`)
  }

  /** Closes with a code; a reader that never takes the close frame is cut 2 s later. */
  private close(live: LiveSocket, code: number, reason: string) {
    if (live.closing || live.closed) return
    live.closing = true
    this.forget(live)
    closeWithGrace(live.socket, code, reason)
  }

  /** Takes a socket out of the maps (it no longer serves its user); slots are given back when it closes. */
  private forget(live: LiveSocket) {
    removeFrom(this.byUser, live.userId, live)
    removeFrom(this.bySession, live.sessionId, live)
    removeFrom(this.byToken, live.apiTokenId, live)
  }

  /** The socket closed: its slots are given back, the subscriptions its gate owned leave the fan-out. */
  closed(live: LiveSocket, code: number, reason: Buffer) {
    if (live.closed) return
    live.closed = true
    live.closing = true
    if (live.authTimer) clearTimeout(live.authTimer)
    this.forget(live)
    this.sockets.delete(live)
    socketMetrics.open--
    for (const key of live.keys.splice(0)) this.options.slots.release(key, live.connId)
    // Subscriptions the gate owns past tRPC's loop leave the fan-out (tRPC aborts its own).
    live.gate?.releaseAll()
    live.gate = null
    this.options.onClose?.(live, code, reason)
  }

  /** Sockets open on this instance (of one user, when given). */
  count(userId?: string): number {
    return userId ? this.byUser.get(userId)?.size ?? 0 : this.sockets.size
  }

  /** Stops the re-check and leaves the revocation bus (sockets stay open). */
  stop() {
    if (this.timer) clearInterval(this.timer)
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer)
    this.unsubscribe()
  }
}
