// The send gate: everything written to one socket goes through it (docs/websocket.md, "Send buffer").
import type { WebSocket } from 'ws'
import { logger } from '../utils/logger'
import { writeFrame } from './rawFrames'

/** Socket send buffer limits (bytes queued in `ws` + the kernel). */
export const sendLimits = {
  /** Over this, ephemeral frames (presence, typing) are dropped. */
  softBytes: 1024 * 1024,
  /** Over this, the socket is closed at once. */
  hardBytes: 8 * 1024 * 1024,
  /** A socket that stays over `softBytes` this long is closed. */
  stuckMs: 15_000,
  /**
   * What each write waiting in the socket's queue costs beyond its bytes (the write request and
   * Buffer objects Node keeps for it). Without it a flood of tiny frames (`PONG`: 6 bytes on the wire,
   * hundreds in memory) would take gigabytes to reach `hardBytes`.
   */
  perWriteBytes: 256,
}

interface NodeSocketLike { _socket?: { _writableState?: { bufferedRequestCount?: number } } }

/**
 * Bytes queued for a socket and not yet taken by the network, plus {@link sendLimits}.perWriteBytes
 * for each write waiting in Node's queue (`bufferedRequestCount` of the TCP socket's writable state,
 * read only when something is queued: the usual case costs one property read).
 */
export function queuedCost(socket: WebSocket): number {
  const buffered = socket.bufferedAmount
  if (buffered === 0) return 0
  const writes = (socket as unknown as NodeSocketLike)._socket?._writableState?.bufferedRequestCount ?? 0
  return buffered + writes * sendLimits.perWriteBytes
}

/** Close code for a socket whose reader cannot keep up: reconnect, and resume from the last id. */
export const CLOSE_SLOW_CONSUMER = 4008
export const WS_OPEN = 1
export const WS_CLOSED = 3

/**
 * Closes a socket with a code; the close frame waits behind whatever is queued for a reader that
 * may never take it, so the socket is cut `graceMs` later if it has not closed by then.
 */
export function closeWithGrace(socket: WebSocket, code: number, reason: string, graceMs = 2_000) {
  socket.close(code, reason)
  setTimeout(() => {
    if (socket.readyState !== WS_CLOSED) socket.terminate()
  }, graceMs).unref()
}

/** A subscription a socket's gate answers for once tRPC's loop of it has ended (a handed-off sink). */
export interface OwnedSubscription {
  /** Its id as JSON. */
  readonly key: string
  /** Leaves the fan-out (subscription.stop, the socket closed, the id reused). */
  detach: () => void
  /** What tRPC's adapter sends when it ends. */
  stoppedFrame: () => string
}

/**
 * Everything sent to one socket goes through here: frames from tRPC's adapter and from the direct
 * fan-out alike. It bounds what may pile up for a slow reader.
 */
export class SendGate {
  private overSince = 0
  droppedEphemeral = 0
  closedSlow = false

  /** Subscriptions this socket answers for itself, by id as JSON (null: none, the usual case before a hand-off). */
  private owned: Map<string, OwnedSubscription> | null = null
  /** Ids whose `stopped` from tRPC's adapter is not sent: its loop ended at the hand-off, the subscription did not. */
  private quietStops: Set<string> | null = null

  constructor(readonly socket: WebSocket, private readonly events: { onDrop?: () => void, onSlow?: () => void } = {}) {}

  /** Takes over a subscription whose generator is ending (tRPC's `stopped` for it is dropped, once). */
  own(subscription: OwnedSubscription) {
    (this.owned ??= new Map()).set(subscription.key, subscription)
    ;(this.quietStops ??= new Set()).add(subscription.key)
  }

  /** Forgets a subscription it owned (it detached). */
  disown(subscription: OwnedSubscription) {
    if (this.owned?.get(subscription.key) !== subscription) return
    this.owned.delete(subscription.key)
    if (this.owned.size === 0) this.owned = null
  }

  /** The owned subscription with this id (as JSON). */
  subscription(key: string): OwnedSubscription | undefined {
    return this.owned?.get(key)
  }

  /** Whether tRPC's `stopped` for this id is to be dropped (the subscription lives on past its loop). */
  quietStop(key: string): boolean {
    if (!this.quietStops?.delete(key)) return false
    if (this.quietStops.size === 0) this.quietStops = null
    return true
  }

  /** The socket closed: every subscription it owned leaves the fan-out. */
  releaseAll() {
    const owned = this.owned
    this.owned = null
    if (owned) for (const subscription of owned.values()) subscription.detach()
  }

  /** Sends a text frame; false when it was dropped (socket closing, or ephemeral and over the soft bound). */
  send(frame: string | Buffer, ephemeral = false): boolean {
    if (!this.admit(ephemeral)) return false
    if (typeof frame === 'string') this.socket.send(frame)
    else this.socket.send(frame, { binary: false })
    return true
  }

  /** Like {@link send}, for a frame already built by `textFrame` (the direct fan-out's shared frames). */
  sendFrame(frame: Buffer, ephemeral = false): boolean {
    if (!this.admit(ephemeral)) return false
    writeFrame(this.socket, frame)
    return true
  }

  /** Whether a frame may go now: the socket is open, and not too far behind (else it is closed, or an ephemeral frame dropped). */
  private admit(ephemeral: boolean): boolean {
    const socket = this.socket
    if (socket.readyState !== WS_OPEN || this.closedSlow) return false
    const buffered = queuedCost(socket)
    if (buffered > sendLimits.softBytes) {
      const now = Date.now()
      if (!this.overSince) this.overSince = now
      if (buffered > sendLimits.hardBytes || now - this.overSince > sendLimits.stuckMs) {
        this.closeSlow(buffered)
        return false
      }
      if (ephemeral) {
        this.droppedEphemeral++
        this.events.onDrop?.()
        return false
      }
    }
    else {
      this.overSince = 0
    }
    return true
  }

  private closeSlow(buffered: number) {
    this.closedSlow = true
    this.events.onSlow?.()
    logger.warn('closing a slow WebSocket consumer', { bufferedBytes: buffered })
    closeWithGrace(this.socket, CLOSE_SLOW_CONSUMER, 'Too far behind: reconnect and resume')
  }
}
