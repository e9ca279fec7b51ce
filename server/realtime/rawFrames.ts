import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

/**
 * Pre-framed text frames for the direct fan-out (docs/decisions/0021-pre-framed-fanout.md).
 *
 * A server's WebSocket frame is not masked, so the frame of one event is the same bytes for every
 * socket: it is built once (header + payload) and handed to each socket's TCP stream as one buffer.
 * `ws`'s own `send` would build a header per socket and write header and payload as two chunks
 * (`cork`, two writes, `uncork`: a `writev`), which at 5,000 sockets is most of what the fan-out
 * costs besides the kernel's own work.
 */

/** A text frame (FIN, opcode 1, unmasked) carrying `payload`. */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(headerLength + length)
  frame[0] = 0x81
  if (length < 126) {
    frame[1] = length
  }
  else if (length < 65_536) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  }
  else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  payload.copy(frame, headerLength)
  return frame
}

/** The payload of a frame built by {@link textFrame}. */
export function framePayload(frame: Buffer): Buffer {
  const marker = frame[1]! & 0x7F
  return frame.subarray(marker < 126 ? 2 : marker === 126 ? 4 : 10)
}

/**
 * What the pre-framed write relies on in `ws` (8.x, pinned in package.json): the TCP socket, and the
 * sender's queue, which holds frames only while it compresses (permessage-deflate, off on our server)
 * or reads a Blob (never sent here). With anything queued, or no socket, `ws.send` keeps the order.
 */
interface WsInternals {
  _socket?: Socket | null
  _sender?: { _state?: number, _queue?: unknown[] } | null
}

/** Writes a frame from {@link textFrame} to an open socket: one write of the shared buffer when `ws`'s sender is idle. */
export function writeFrame(socket: WebSocket, frame: Buffer): void {
  const { _socket: tcp, _sender: sender } = socket as unknown as WsInternals
  if (tcp && sender && sender._state === 0 && sender._queue?.length === 0) tcp.write(frame)
  else socket.send(framePayload(frame), { binary: false })
}
