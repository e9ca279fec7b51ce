import type { WebSocket } from 'ws'
import type { SendGate } from './sendGate'

const ADMITTED = Promise.resolve(true)

/** One open socket as the registry sees it. */
export class LiveSocket {
  userId: string | null = null
  sessionId: string | undefined
  apiTokenId: string | undefined
  /** Slot keys held (`ip:…`, `user:…`), released on close. */
  readonly keys: string[] = []
  /** Resolves false when the address is over its cap (the socket is then closing). */
  admitted: Promise<boolean> = ADMITTED
  closing = false
  closed = false
  authPending = false
  authTimedOut = false
  authTimer: ReturnType<typeof setTimeout> | undefined
  /** Where frames to this socket go (set by the socket handler); the keep-alive `PING` too. */
  gate: SendGate | null = null
  /** When the socket opened (performance.now()), for the close log line. */
  readonly openedAt = performance.now()
  /** When it last sent anything (Date.now(); the frame guard updates it), and when it was pinged (0: not waiting). */
  seenAt = Date.now()
  pingedAt = 0

  constructor(readonly socket: WebSocket, readonly connId: string, readonly ip: string) {}
}
