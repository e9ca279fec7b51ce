import type { WebSocket } from 'ws'
import { setShuttingDown } from '../utils/lifecycle'
import { logger } from '../utils/logger'
import { closeWithGrace } from './sendGate'

/** Close code of every socket at a graceful shutdown: reconnect at once (to another instance) and resume. */
export const CLOSE_SERVICE_RESTART = 1012
export const SERVICE_RESTART_REASON = 'service restart'

/** A socket that does not answer the close frame is cut this long after it (as the registry does). */
const CLOSE_GRACE_MS = 2_000
/** The drain closes the sockets that are due at most this often. */
const TICK_MS = 10

/**
 * Nitro's node-server shutdown (its copy of http-graceful-shutdown) destroys every connection it
 * thinks idle as soon as the signal arrives, and an upgraded socket never had a request that would
 * make it busy: WebSockets would drop with 1006 before they could be closed with 1012. Marked busy,
 * Nitro leaves them open and waits (polling every 250 ms) until they close — which the drain does.
 */
function keepThroughShutdown(socket: WebSocket) {
  const raw = (socket as unknown as { _socket?: { _isIdle?: boolean } | null })._socket
  if (raw) raw._isIdle = false
}

function closeForRestart(socket: WebSocket, graceMs: number) {
  if (socket.readyState >= 2) return
  closeWithGrace(socket, CLOSE_SERVICE_RESTART, SERVICE_RESTART_REASON, graceMs)
}

/** The WebSockets this process serves, closed gently (1012, spread over time) when it shuts down. */
export class SocketDrain {
  private readonly sockets = new Set<WebSocket>()
  private draining: Promise<void> | null = null

  constructor(private readonly options: { graceMs?: number } = {}) {}

  /**
   * A socket opened; one that opens while the drain runs (it raced the refusal) is closed at once.
   * `listen` false: the caller calls {@link untrack} when it closes (no listener per socket).
   */
  track(socket: WebSocket, listen = true) {
    if (this.draining) {
      closeForRestart(socket, this.graceMs)
      return
    }
    keepThroughShutdown(socket)
    this.sockets.add(socket)
    if (listen) socket.once('close', () => this.untrack(socket))
  }

  /** A tracked socket closed. */
  untrack(socket: WebSocket) {
    this.sockets.delete(socket)
  }

  get size(): number {
    return this.sockets.size
  }

  get isDraining(): boolean {
    return this.draining !== null
  }

  private get graceMs() {
    return this.options.graceMs ?? CLOSE_GRACE_MS
  }

  /**
   * Closes every socket with 1012, evenly spread over `spreadMs` (the first at once, the last at
   * `spreadMs`), so their clients reconnect elsewhere in a trickle rather than a stampede.
   * Resolves when every socket has closed (a client that ignores the close frame is cut after the grace).
   */
  drain(spreadMs: number): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      const queue = [...this.sockets]
      const total = queue.length
      if (total === 0) return resolve()
      let closed = 0
      for (const socket of queue) {
        socket.once('close', () => {
          if (++closed === total) resolve()
        })
      }
      const start = Date.now()
      let next = 0
      const tick = () => {
        const elapsed = Date.now() - start
        const due = spreadMs <= 0 ? total : Math.min(total, Math.floor((elapsed / spreadMs) * (total - 1)) + 1)
        while (next < due) closeForRestart(queue[next++]!, this.graceMs)
        if (next < total) setTimeout(tick, TICK_MS)
      }
      tick()
    })
    return this.draining
  }
}

let drain: SocketDrain | undefined

/** This process's socket drain (every socket served by `serveTrpcSocket` is tracked in it). */
export function useSocketDrain(): SocketDrain {
  drain ??= new SocketDrain()
  return drain
}

export interface ShutdownOptions {
  drain: SocketDrain
  /** SHUTDOWN_SPREAD_MS */
  spreadMs: number
  /** SHUTDOWN_TIMEOUT_MS: the process exits by then, whatever still hangs. */
  timeoutMs: number
  /** Takes this instance's connections out of presence now (the sockets' own closes normally have). */
  flushPresence: () => Promise<void>
  exit: (code: number) => void
}

/** Time kept before the deadline to flush presence when something hangs. */
const FLUSH_BUDGET_MS = 1_000

/**
 * The graceful part of a shutdown (SIGTERM), next to Nitro's own (stop listening, finish in-flight
 * HTTP requests, run the `close` hooks, exit): report not-ready, refuse new upgrades, close the
 * sockets with 1012 spread over `spreadMs`, and exit by `timeoutMs` even if something hangs.
 * Resolves when every socket is closed.
 */
export function startShutdown(options: ShutdownOptions): Promise<void> {
  const started = Date.now()
  setShuttingDown()
  const sockets = options.drain.size
  logger.info('shutting down: closing sockets with 1012', { sockets, spreadMs: options.spreadMs, timeoutMs: options.timeoutMs })
  const flushAt = Math.max(0, options.timeoutMs - FLUSH_BUDGET_MS)
  const deadline = setTimeout(() => {
    logger.warn('shutdown did not finish in time: flushing presence and exiting', { afterMs: Date.now() - started, sockets: options.drain.size })
    const budget = new Promise<void>(resolve => setTimeout(resolve, options.timeoutMs - flushAt - 100).unref())
    void Promise.race([options.flushPresence().catch(() => {}), budget]).finally(() => options.exit(1))
  }, flushAt)
  // Only a deadline: it must not keep the process alive once everything else has closed.
  deadline.unref()
  return options.drain.drain(options.spreadMs).then(() => {
    logger.info('shutting down: every socket closed', { sockets, afterMs: Date.now() - started })
  })
}
