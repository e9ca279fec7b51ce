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

/** The close code for a bad frame, or what a good one costs against the socket's message rate. */
function inspectFrame(data: RawData, isBinary: boolean): { code: number, reason: string } | { cost: number } {
  if (isBinary) return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Binary frames are not supported' }
  const text = toText(data)
  if (text === 'PING' || text === 'PONG') return { cost: 1 }
  try {
    const parsed = JSON.parse(text) as unknown
    return { cost: Array.isArray(parsed) ? Math.max(1, parsed.length) : 1 }
  }
  catch {
    return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Invalid JSON' }
  }
}

export interface GuardOptions {
  /** Replaces the socket's own `send` (the send gate of server/realtime/fanout.ts). */
  send?: (data: unknown) => void
  /** Called once when the socket is closed for flooding (metrics). */
  onFlood?: () => void
  /** Clock for the message rate (tests). */
  now?: () => number
}

/**
 * The socket as tRPC gets it: its 'message' listeners only see frames that pass `checkFrame`.
 * A bad frame closes the socket with its code, and nothing after it is delivered. `send`, when
 * given, replaces the socket's own (the send gate of server/realtime/fanout.ts).
 */
export function guardSocket(socket: WebSocket, options: GuardOptions = {}): WebSocket {
  const { send, onFlood, now = Date.now } = options
  let verdict: { data: unknown, ok: boolean } | null = null
  let closing = false
  let tokens = messageRate.burst
  let refilledAt = now()
  const close = (code: number, reason: string) => {
    closing = true
    socket.close(code, reason)
    // The close frame waits behind whatever is queued for a reader that may never take it.
    setTimeout(() => {
      if (socket.readyState !== 3) socket.terminate()
    }, 2_000).unref()
  }
  const pass = (data: RawData, isBinary: boolean): boolean => {
    // Once the server closes a socket (revoked, flooding, too slow…), nothing it sends is run.
    if (closing || socket.readyState !== 1) return false
    // tRPC registers several 'message' listeners: check each frame once.
    if (verdict?.data === data) return verdict.ok
    const inspected = inspectFrame(data, isBinary)
    if ('code' in inspected) {
      verdict = { data, ok: false }
      close(inspected.code, inspected.reason)
      return false
    }
    const t = now()
    tokens = Math.min(messageRate.burst, tokens + ((t - refilledAt) / 1000) * messageRate.perSecond)
    refilledAt = t
    tokens -= inspected.cost
    if (tokens < 0) {
      verdict = { data, ok: false }
      onFlood?.()
      close(CLOSE_TOO_MANY_MESSAGES, 'Too many messages')
      return false
    }
    verdict = { data, ok: true }
    return true
  }
  const wrapped = new WeakMap<(...args: never[]) => unknown, (...args: never[]) => unknown>()
  return new Proxy(socket, {
    get(target, prop, receiver) {
      if (prop === 'on' || prop === 'addListener' || prop === 'once') {
        return (event: string, listener: (data: RawData, isBinary: boolean) => void) => {
          if (event !== 'message') {
            target[prop](event, listener as never)
            return receiver
          }
          const guarded = (data: RawData, isBinary: boolean) => {
            if (pass(data, isBinary)) listener(data, isBinary)
          }
          wrapped.set(listener as never, guarded as never)
          target[prop]('message', guarded)
          return receiver
        }
      }
      if (prop === 'send' && send) return send
      if (prop === 'off' || prop === 'removeListener') {
        return (event: string, listener: (...args: never[]) => unknown) => {
          target[prop](event, (wrapped.get(listener) ?? listener) as never)
          return receiver
        }
      }
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
