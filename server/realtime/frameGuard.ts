import type { WebSocket } from 'ws'

/**
 * Largest incoming message accepted on the socket (bytes). Enforced by `ws` itself as its
 * `maxPayload` ({@link wsServerOptions}): it reads the frame header's length and closes the socket
 * with 1009 before buffering the payload.
 */
export const MAX_FRAME_BYTES = 64 * 1024

/** Options of the `ws` server our sockets come from (crossws `serverOptions`, see server/plugins/wsServerOptions.ts). */
export const wsServerOptions = { maxPayload: MAX_FRAME_BYTES }

/** Close codes used by the guard (RFC 6455 §7.4.1). */
export const CLOSE_UNSUPPORTED_DATA = 1003
/** Sent by `ws` for a message over its `maxPayload` ({@link MAX_FRAME_BYTES}). */
export const CLOSE_MESSAGE_TOO_BIG = 1009
/** Too many messages: the client sent faster than {@link messageRate} allows. */
export const CLOSE_TOO_MANY_MESSAGES = 4029

/**
 * Incoming messages per socket: a bucket of `burst`, refilled at `perSecond`. Each frame costs one,
 * a batch (JSON array) one per call in it, `PING`/`PONG` one. Every message makes the server work
 * and most make it answer, so a client that floods — `PING` included — is closed with 4029 before
 * its answers can pile up. The stock client sends a handful of frames per user action and a `PING`
 * every 20 s; the per-user call limit (30, then 10/s) answers TOO_MANY_REQUESTS well before this.
 */
export const messageRate = { burst: 200, perSecond: 50 }

type RawData = Buffer | ArrayBuffer | Buffer[]

function toText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString()
  return Buffer.from(data as ArrayBuffer).toString()
}

/** `null` when the frame may reach tRPC, otherwise the close code and reason to close with. */
export function checkFrame(data: RawData, isBinary: boolean): { code: number, reason: string } | null {
  const verdict = inspectFrame(data, isBinary)
  return 'code' in verdict ? verdict : null
}

/** The close code for a bad frame, or what a good one costs against the socket's message rate (and its JSON). */
function inspectFrame(data: RawData, isBinary: boolean): { code: number, reason: string } | { cost: number, message?: unknown } {
  if (isBinary) return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Binary frames are not supported' }
  const text = toText(data)
  if (text === 'PING' || text === 'PONG') return { cost: 1 }
  try {
    const message = JSON.parse(text) as unknown
    return { cost: Array.isArray(message) ? Math.max(1, message.length) : 1, message }
  }
  catch {
    return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Invalid JSON' }
  }
}

/**
 * What of a frame goes on to tRPC once `intercept` has taken the messages it answers: the frame
 * itself, the rest of a batch (as a new frame), or null.
 */
function remainderOf(data: RawData, message: unknown, intercept: (message: unknown) => boolean): RawData | null {
  if (!Array.isArray(message)) return intercept(message) ? null : data
  const rest = message.filter(m => !intercept(m))
  if (rest.length === message.length) return data
  return rest.length === 0 ? null : Buffer.from(JSON.stringify(rest))
}

export interface GuardOptions {
  /** Replaces the socket's own `send` (the send gate of server/realtime/sendGate.ts). */
  send?: (data: unknown) => void
  /** Called once when the socket is closed for flooding (metrics). */
  onFlood?: () => void
  /** Its `seenAt` is set to `Date.now()` on every incoming frame (the registry's keep-alive reads it). */
  activity?: { seenAt: number }
  /** Clock for the message rate (tests). */
  now?: () => number
  /**
   * Sees each message (each call of a batch) that passed, before tRPC: true when it was answered
   * here and is not for tRPC (subscriptions the socket's gate owns past tRPC's loop).
   */
  intercept?: (message: unknown) => boolean
}

type Listener = (data: RawData, isBinary: boolean) => void

/**
 * The guard of one socket: its state in fields and its behaviour on the prototype, so a socket costs
 * this object, its proxy and one listener on the real socket. tRPC's 'message' listeners are kept
 * here and called by that one listener, once the frame has passed: each frame is checked once, and
 * no frame is kept after it was handled.
 */
class SocketGuard implements ProxyHandler<WebSocket> {
  private tokens = messageRate.burst
  private refilledAt: number
  private closing = false
  private readonly listeners: Listener[] = []
  private readonly dispatch: Listener

  constructor(private readonly socket: WebSocket, private readonly options: GuardOptions) {
    this.refilledAt = this.now()
    this.dispatch = (data, isBinary) => {
      const passed = this.pass(data, isBinary)
      if (!passed) return
      const intercept = this.options.intercept
      const forward = intercept && passed.message !== undefined ? remainderOf(data, passed.message, intercept) : data
      if (forward === null) return
      for (const listener of [...this.listeners]) listener(forward, isBinary)
    }
  }

  private now() {
    return this.options.now ? this.options.now() : Date.now()
  }

  private close(code: number, reason: string) {
    this.closing = true
    const socket = this.socket
    socket.close(code, reason)
    // The close frame waits behind whatever is queued for a reader that may never take it.
    setTimeout(() => {
      if (socket.readyState !== 3) socket.terminate()
    }, 2_000).unref()
  }

  /** The frame's verdict: null to drop it (the socket is closing), else its JSON (none for PING/PONG). */
  private pass(data: RawData, isBinary: boolean): { message?: unknown } | null {
    // Once the server closes a socket (revoked, flooding, too slow…), nothing it sends is run.
    if (this.closing || this.socket.readyState !== 1) return null
    if (this.options.activity) this.options.activity.seenAt = Date.now()
    const inspected = inspectFrame(data, isBinary)
    if ('code' in inspected) {
      this.close(inspected.code, inspected.reason)
      return null
    }
    const t = this.now()
    this.tokens = Math.min(messageRate.burst, this.tokens + ((t - this.refilledAt) / 1000) * messageRate.perSecond) - inspected.cost
    this.refilledAt = t
    if (this.tokens < 0) {
      this.options.onFlood?.()
      this.close(CLOSE_TOO_MANY_MESSAGES, 'Too many messages')
      return null
    }
    return inspected
  }

  private addMessageListener(listener: Listener, once: boolean) {
    const entry: Listener = once
      ? (data, isBinary) => {
          this.removeMessageListener(entry)
          listener(data, isBinary)
        }
      : listener
    if (once) onceOriginals.set(entry, listener)
    this.listeners.push(entry)
    if (this.listeners.length === 1) this.socket.on('message', this.dispatch)
  }

  private removeMessageListener(listener: Listener) {
    const index = this.listeners.findIndex(entry => entry === listener || onceOriginals.get(entry) === listener)
    if (index === -1) return
    this.listeners.splice(index, 1)
    if (this.listeners.length === 0) this.socket.off('message', this.dispatch)
  }

  get(target: WebSocket, prop: string | symbol, receiver: unknown): unknown {
    if (prop === 'on' || prop === 'addListener' || prop === 'once') {
      return (event: string, listener: Listener) => {
        if (event === 'message') this.addMessageListener(listener, prop === 'once')
        else target[prop](event, listener as never)
        return receiver
      }
    }
    if (prop === 'off' || prop === 'removeListener') {
      return (event: string, listener: Listener) => {
        if (event === 'message') this.removeMessageListener(listener)
        else target[prop](event, listener as never)
        return receiver
      }
    }
    if (prop === 'send' && this.options.send) return this.options.send
    const value = Reflect.get(target, prop, target) as unknown
    return typeof value === 'function' ? value.bind(target) : value
  }
}

/** The listener a `once` entry wraps (to remove it by the listener it was given). */
const onceOriginals = new WeakMap<Listener, Listener>()

/**
 * The socket as tRPC gets it: its 'message' listeners only see frames that pass `checkFrame` and
 * the message rate. A bad frame closes the socket with its code, and nothing after it is delivered.
 * `send`, when given, replaces the socket's own (the send gate of server/realtime/sendGate.ts).
 */
export function guardSocket(socket: WebSocket, options: GuardOptions = {}): WebSocket {
  return new Proxy(socket, new SocketGuard(socket, options))
}
