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

export type RawData = Buffer | ArrayBuffer | Buffer[]

function toText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString()
  return Buffer.isBuffer(data) ? data.toString() : Buffer.from(data).toString()
}

/** A frame that may run: what it costs against the socket's message rate, and its JSON (none for `PING`/`PONG`). */
export interface FramePass {
  cost: number
  message?: unknown
  keepAlive?: 'PING' | 'PONG'
}

/** The close code and reason for a bad frame (binary, not JSON), or what a good one costs (and its JSON). */
export function inspectFrame(data: RawData, isBinary: boolean): { code: number, reason: string } | FramePass {
  if (isBinary) return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Binary frames are not supported' }
  const text = toText(data)
  if (text === 'PING' || text === 'PONG') return { cost: 1, keepAlive: text }
  try {
    const message = JSON.parse(text) as unknown
    return { cost: Array.isArray(message) ? Math.max(1, message.length) : 1, message }
  }
  catch {
    return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Invalid JSON' }
  }
}
