import { randomUUID } from 'node:crypto'
import { TRPCError } from '@trpc/server'
import type { Context } from '../trpc/context'
import { logger } from '../utils/logger'
import { useRevocationBus, type Revocation, type RevocationBus } from './revocation'
import { useSocketSlots, type SocketSlots } from './socketSlots'

/** One subscription served over SSE (the fallback transport, docs/websocket.md "Fallback transports"). */
interface SseStream {
  userId: string
  sessionId?: string
  apiTokenId?: string
  revoked: boolean
  controller: AbortController
}

export interface SseStreamsOptions {
  maxPerUser: () => number
  slots?: () => SocketSlots
  revocations?: () => RevocationBus
}

/**
 * This instance's subscriptions over SSE (`GET /api/trpc/<path>` with `text/event-stream`): at most
 * `maxPerUser` per user across instances (counted with the socket slots, under `sse:user:<id>`), and
 * ended with UNAUTHORIZED when their session or token is revoked (the same revocation bus as the
 * sockets). Over the WebSocket the socket registry does both, so socket calls pass straight through.
 */
export class SseStreams {
  private readonly streams = new Set<SseStream>()
  private bus: RevocationBus | null = null
  private unsubscribe: (() => void) | null = null

  constructor(private readonly options: SseStreamsOptions) {}

  /** Open streams on this instance (tests, metrics). */
  get size(): number {
    return this.streams.size
  }

  /** The revocation bus may be replaced at start (Redis): listen on the current one. */
  private listen() {
    const bus = (this.options.revocations ?? useRevocationBus)()
    if (bus === this.bus) return
    this.unsubscribe?.()
    this.bus = bus
    this.unsubscribe = bus.subscribe(revocation => this.revoke(revocation))
  }

  /** Ends the streams a revocation names; returns how many. */
  revoke(revocation: Revocation): number {
    let n = 0
    for (const stream of [...this.streams]) {
      const match = 'sessionId' in revocation
        ? stream.sessionId === revocation.sessionId
        : 'apiTokenId' in revocation
          ? stream.apiTokenId === revocation.apiTokenId
          : stream.userId === revocation.userId && (!revocation.exceptSessionId || stream.sessionId !== revocation.exceptSessionId)
      if (!match || stream.revoked) continue
      stream.revoked = true
      stream.controller.abort()
      n++
    }
    return n
  }

  /**
   * Serves a subscription: over the WebSocket `open(signal)` as is; over HTTP (SSE) it first takes
   * one of the user's SSE slots (TOO_MANY_REQUESTS when all are taken), then opens the stream with a
   * signal that also aborts on revocation, and releases the slot when the stream ends or the client
   * goes away. A revoked stream ends with UNAUTHORIZED, so the client signs out as on a 4401 close.
   */
  async serve<T>(
    ctx: Pick<Context, 'socket' | 'credential'> & { user: { id: string } },
    signal: AbortSignal | undefined,
    open: (signal: AbortSignal) => Promise<AsyncGenerator<T, void, unknown>>,
  ): Promise<AsyncGenerator<T, void, unknown>> {
    if (ctx.socket) return open(signal ?? new AbortController().signal)
    if (signal?.aborted) throw new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'The client went away' })
    this.listen()
    const slots = (this.options.slots ?? useSocketSlots)()
    const key = `sse:user:${ctx.user.id}`
    const id = randomUUID()
    const max = this.options.maxPerUser()
    let admitted: boolean
    try {
      admitted = await slots.acquire(key, id, max)
    }
    catch (error) {
      logger.error('counting an SSE stream failed; letting it in', { message: (error as Error).message })
      admitted = true
    }
    if (!admitted) {
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many live connections for this account (at most ${max} over SSE): close a tab or two` })
    }
    const stream: SseStream = {
      userId: ctx.user.id,
      sessionId: ctx.credential?.sessionId,
      apiTokenId: ctx.credential?.apiTokenId,
      revoked: false,
      controller: new AbortController(),
    }
    let released = false
    const release = () => {
      if (released) return
      released = true
      this.streams.delete(stream)
      slots.release(key, id)
      signal?.removeEventListener('abort', onClientGone)
    }
    // A stream aborted before its first read never runs its `finally`: the abort releases too.
    const onClientGone = () => {
      stream.controller.abort()
      release()
    }
    signal?.addEventListener('abort', onClientGone, { once: true })
    this.streams.add(stream)
    let inner: AsyncGenerator<T, void, unknown>
    try {
      inner = await open(stream.controller.signal)
    }
    catch (error) {
      release()
      throw error
    }
    async function* guarded() {
      try {
        yield* inner
        if (stream.revoked) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Your session ended: sign in again' })
      }
      finally {
        release()
      }
    }
    return guarded()
  }
}
