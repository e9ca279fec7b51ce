import type { WebSocket } from 'ws'

/** Largest incoming frame accepted on the socket (bytes); bigger ones close it with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024

/** Close codes used by the guard (RFC 6455 §7.4.1). */
export const CLOSE_UNSUPPORTED_DATA = 1003
export const CLOSE_MESSAGE_TOO_BIG = 1009

type RawData = Buffer | ArrayBuffer | Buffer[]

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, b) => sum + b.length, 0)
  return data.byteLength
}

function toText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString()
  return Buffer.from(data as ArrayBuffer).toString()
}

/** `null` when the frame may reach tRPC, otherwise the close code and reason to close with. */
export function checkFrame(data: RawData, isBinary: boolean): { code: number, reason: string } | null {
  if (byteLength(data) > MAX_FRAME_BYTES) return { code: CLOSE_MESSAGE_TOO_BIG, reason: 'Message too big' }
  if (isBinary) return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Binary frames are not supported' }
  const text = toText(data)
  if (text === 'PING' || text === 'PONG') return null
  try {
    JSON.parse(text)
    return null
  }
  catch {
    return { code: CLOSE_UNSUPPORTED_DATA, reason: 'Invalid JSON' }
  }
}

/**
 * The socket as tRPC gets it: its 'message' listeners only see frames that pass `checkFrame`.
 * A bad frame closes the socket with its code, and nothing after it is delivered. `send`, when
 * given, replaces the socket's own (the send gate of server/realtime/fanout.ts).
 */
export function guardSocket(socket: WebSocket, send?: (data: unknown) => void): WebSocket {
  let verdict: { data: unknown, ok: boolean } | null = null
  let closing = false
  const pass = (data: RawData, isBinary: boolean): boolean => {
    if (closing) return false
    // tRPC registers several 'message' listeners: check each frame once.
    if (verdict?.data === data) return verdict.ok
    const bad = checkFrame(data, isBinary)
    verdict = { data, ok: !bad }
    if (bad) {
      closing = true
      socket.close(bad.code, bad.reason)
    }
    return !bad
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
