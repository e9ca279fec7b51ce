// Over 300 lines on purpose: the transport controller and the two links it switches between change together (docs/websocket.md).
import type { Operation, OperationLink, OperationResultEnvelope, TRPCClientError, TRPCLink } from '@trpc/client'
import type { AnyRouter } from '@trpc/server'
import { observable, type Unsubscribable } from '@trpc/server/observable'

/**
 * How the tab's subscriptions reach the server (docs/websocket.md, "Fallback transports"):
 * the WebSocket; tRPC subscriptions over SSE when upgrades are refused or blocked; polling the event
 * logs when SSE does not get through either.
 */
export type Transport = 'websocket' | 'sse' | 'polling'

/** Subscriptions that have an SSE and a polling form. Presence is per socket: it waits for the WebSocket. */
export const FALLBACK_SUBSCRIPTIONS = {
  'project.onEvent': 'project.eventsSince',
  'notification.onEvent': 'notification.eventsSince',
} as const
export type FallbackSubscription = keyof typeof FALLBACK_SUBSCRIPTIONS
export type PollProcedure = (typeof FALLBACK_SUBSCRIPTIONS)[FallbackSubscription]

export const POLL_INTERVAL_MS = 5_000
/** Sockets in a row that close before opening (or do not open in time) before the tab falls back to SSE. */
export const WS_FAILURES_BEFORE_FALLBACK = 2
/** A socket that has not opened after this long counts as failed. */
export const WS_OPEN_TIMEOUT_MS = 8_000
/** An SSE stream that has not said `connected` after this long counts as failed (a proxy buffering it). */
export const SSE_CONNECT_TIMEOUT_MS = 8_000
/** While on a fallback, the WebSocket is tried again this often. */
export const WS_RETRY_MS = 60_000

export interface TransportControllerOptions {
  /** Opens a test socket; resolves true when it opened (then closes it). */
  probeWebSocket: () => Promise<boolean>
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
  retryMs?: number
}

/**
 * The transport state machine. `websocket` → `sse` after {@link WS_FAILURES_BEFORE_FALLBACK} sockets in
 * a row failed to open; `sse` → `polling` when a stream fails before it connected; from either fallback,
 * back to `websocket` as soon as a socket opens (the periodic probe, every {@link WS_RETRY_MS}, or
 * tRPC's own reconnect). `live` says whether the fallback in use currently delivers.
 */
export class TransportController {
  transport: Transport = 'websocket'
  live = false
  private failures = 0
  private readonly listeners = new Set<() => void>()
  private retryTimer: unknown = null
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  private readonly clearTimer: (timer: unknown) => void

  constructor(private readonly options: TransportControllerOptions) {
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
    this.clearTimer = options.clearTimer ?? (timer => clearTimeout(timer as ReturnType<typeof setTimeout>))
  }

  /** Called on every change of `transport` or `live`; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private set(transport: Transport, live: boolean) {
    if (transport === this.transport && live === this.live) return
    this.transport = transport
    this.live = live
    if (transport === 'websocket') this.stopRetrying()
    else this.scheduleRetry()
    for (const listener of [...this.listeners]) listener()
  }

  /** A socket opened: the WebSocket works (again). */
  wsOpened() {
    this.failures = 0
    this.set('websocket', false)
  }

  /** A socket closed before it opened, or did not open in time. */
  wsFailed() {
    this.failures++
    if (this.transport === 'websocket' && this.failures >= WS_FAILURES_BEFORE_FALLBACK) this.set('sse', false)
  }

  /** An SSE stream failed before it connected (refused, wrong type, buffered). */
  sseFailed() {
    if (this.transport === 'sse') this.set('polling', false)
  }

  /** The fallback in use delivered (an SSE stream connected, a poll answered) or lost its way. */
  fallbackLive(live: boolean) {
    if (this.transport !== 'websocket') this.set(this.transport, live)
  }

  private scheduleRetry() {
    if (this.retryTimer !== null) return
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = null
      void this.retryWebSocket()
    }, this.options.retryMs ?? WS_RETRY_MS)
  }

  private stopRetrying() {
    if (this.retryTimer === null) return
    this.clearTimer(this.retryTimer)
    this.retryTimer = null
  }

  /** Tries a socket now; switches back to it if it opens, else tries again later. */
  async retryWebSocket(): Promise<void> {
    if (this.transport === 'websocket') return
    const ok = await this.options.probeWebSocket().catch(() => false)
    if (ok) this.wsOpened()
    else this.scheduleRetry()
  }

  dispose() {
    this.stopRetrying()
    this.listeners.clear()
  }
}

/** Opens a socket to `url` and reports whether it opened within `timeoutMs` (it is closed at once). */
export function probeWebSocket(WebSocketImpl: typeof WebSocket, url: string, timeoutMs = WS_OPEN_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let socket: WebSocket
    try {
      socket = new WebSocketImpl(url)
    }
    catch {
      resolve(false)
      return
    }
    const done = (ok: boolean) => {
      clearTimeout(timer)
      resolve(ok)
      socket.close()
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.addEventListener('open', () => done(true))
    socket.addEventListener('close', () => done(false))
    socket.addEventListener('error', () => done(false))
  })
}

type AnyClientError = TRPCClientError<AnyRouter>

/** The links this one switches between end the chain: none of them calls `next`. */
function terminal(): never {
  throw new Error('a terminating link was asked for the next one')
}

/** An answer of the server (it has a tRPC code), as opposed to a transport that failed. */
function serverCode(error: AnyClientError): string | undefined {
  const data = (error as { data?: { code?: unknown } }).data
  return typeof data?.code === 'string' ? data.code : undefined
}

function withLastEventId(input: unknown, lastEventId: string | undefined): unknown {
  if (lastEventId === undefined || !input || typeof input !== 'object') return input
  return { ...input, lastEventId }
}

export interface SwitchingLinkOptions<TRouter extends AnyRouter> {
  controller: TransportController
  websocket: TRPCLink<TRouter>
  sse: TRPCLink<TRouter>
  polling: TRPCLink<TRouter>
  /** Queries and mutations while the WebSocket cannot be used (presence.setStatus works over HTTP too). */
  http: TRPCLink<TRouter>
  /** A fallback subscription was refused with UNAUTHORIZED: the session ended (as a 4401 close on the socket). */
  onSignedOut: () => void
  sseConnectTimeoutMs?: number
}

/**
 * The tab's socket client link: every call goes over the WebSocket while that works. On a fallback,
 * the subscriptions of {@link FALLBACK_SUBSCRIPTIONS} move to SSE or polling, resuming from the last
 * tracked id they delivered (so the stores see no gap and no repeat); the others (presence) wait for
 * the WebSocket to come back, and calls go over HTTP rather than wait for a socket that will not open
 * (presence.update and typing answer BAD_REQUEST there: presence is per socket).
 */
export function switchingLink<TRouter extends AnyRouter>(options: SwitchingLinkOptions<TRouter>): TRPCLink<TRouter> {
  return (runtime) => {
    const links: Record<Transport, OperationLink<TRouter>> = {
      websocket: options.websocket(runtime),
      sse: options.sse(runtime),
      polling: options.polling(runtime),
    }
    const http = options.http(runtime)
    const { controller } = options
    return ({ op }) => observable<OperationResultEnvelope<unknown, AnyClientError>, AnyClientError>((observer) => {
      const fallbackCapable = op.path in FALLBACK_SUBSCRIPTIONS
      if (op.type !== 'subscription') {
        const link = controller.transport === 'websocket' ? links.websocket : http
        return link({ op, next: terminal }).subscribe(observer)
      }
      let lastEventId: string | undefined
      let inner: Unsubscribable | null = null
      let current: Transport | null = null
      let connectTimer: ReturnType<typeof setTimeout> | undefined
      /** Bumped when the inner subscription is replaced: what the old one says after that is not ours. */
      let generation = 0
      const stopInner = () => {
        generation++
        clearTimeout(connectTimer)
        // tRPC's links complete their observer when unsubscribed; that must not end this subscription.
        inner?.unsubscribe()
        inner = null
      }
      const start = () => {
        stopInner()
        current = controller.transport
        if (current !== 'websocket' && !fallbackCapable) return
        const transport = current
        const mine = ++generation
        const stale = () => mine !== generation
        let connected = false
        const failed = () => {
          stopInner()
          controller.sseFailed()
        }
        if (transport === 'sse') connectTimer = setTimeout(failed, options.sseConnectTimeoutMs ?? SSE_CONNECT_TIMEOUT_MS)
        const inputNow = withLastEventId(op.input, lastEventId)
        const innerOp: Operation = { ...op, input: inputNow }
        inner = links[transport]({ op: innerOp, next: terminal }).subscribe({
          next(envelope) {
            if (stale()) return
            const result = envelope.result as { type?: string, id?: string, state?: string }
            if (transport !== 'websocket') {
              if (result.type === 'started') {
                connected = true
                clearTimeout(connectTimer)
                controller.fallbackLive(true)
              }
              else if (result.type === 'state') controller.fallbackLive(result.state === 'pending')
            }
            if (typeof result.id === 'string' && result.id) lastEventId = result.id
            observer.next(envelope)
          },
          error(error) {
            if (stale()) return
            if (transport === 'sse' && !connected && serverCode(error) === undefined) {
              failed()
              return
            }
            if (transport !== 'websocket' && serverCode(error) === 'UNAUTHORIZED') options.onSignedOut()
            observer.error(error)
          },
          complete() {
            if (!stale()) observer.complete()
          },
        })
      }
      start()
      const off = controller.onChange(() => {
        if (controller.transport !== current) start()
      })
      return () => {
        off()
        stopInner()
      }
    })
  }
}

export interface PollingLinkOptions {
  /** One page of a polling procedure (`project.eventsSince`, `notification.eventsSince`). */
  fetchPage: (procedure: PollProcedure, input: Record<string, unknown>) => Promise<{ events: { id: string, data: unknown }[], more: boolean, unreadCount?: number }>
  /** The newest id when a subscription starts without one (live from now). */
  latestId: (path: FallbackSubscription, input: Record<string, unknown>) => Promise<string>
  intervalMs?: number
}

/**
 * Subscriptions served by polling their procedure every {@link POLL_INTERVAL_MS}: each page's events
 * arrive as the stream's tracked `{ id, data }`, from the same resume ids. A notification page also
 * carries the badge (read elsewhere changes it without a new seq): it is sent as a `state` event when
 * it moved. Network failures retry at the next tick; an answer of the server (NOT_FOUND, BAD_REQUEST,
 * UNAUTHORIZED) ends the subscription with that error, as over the socket.
 */
export function pollingLink<TRouter extends AnyRouter>(options: PollingLinkOptions): TRPCLink<TRouter> {
  return () => ({ op }) => observable<OperationResultEnvelope<unknown, AnyClientError>, AnyClientError>((observer) => {
    const path = op.path as FallbackSubscription
    const procedure = FALLBACK_SUBSCRIPTIONS[path]
    if (op.type !== 'subscription' || !procedure) {
      observer.error(new Error(`${op.path} cannot be polled`) as AnyClientError)
      return () => {}
    }
    const { lastEventId: given, ...rest } = (op.input ?? {}) as Record<string, unknown>
    let lastEventId = typeof given === 'string' ? given : undefined
    let unread: number | undefined
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let started = false

    type Envelope = OperationResultEnvelope<unknown, AnyClientError>
    const send = (result: Envelope['result']) => observer.next({ result })
    const tick = async () => {
      try {
        lastEventId ??= await options.latestId(path, rest)
        for (;;) {
          const page = await options.fetchPage(procedure, { ...rest, lastEventId })
          if (stopped) return
          if (!started) {
            started = true
            send({ type: 'started' })
          }
          send({ type: 'state', state: 'pending', error: null })
          for (const event of page.events) {
            lastEventId = event.id
            send({ id: event.id, data: event })
          }
          if (page.unreadCount !== undefined) {
            // A badge that moved without a new notification: read or archived elsewhere.
            if (unread !== undefined && page.unreadCount !== unread && !page.events.length) {
              send({ id: lastEventId, data: { id: lastEventId, data: { kind: 'state', ids: [], unreadCount: page.unreadCount } } })
            }
            unread = page.unreadCount
          }
          if (!page.more) break
        }
      }
      catch (error) {
        if (stopped) return
        if (serverCode(error as AnyClientError) !== undefined) {
          stopped = true
          observer.error(error as AnyClientError)
          return
        }
        send({ type: 'state', state: 'connecting', error: null })
      }
      if (!stopped) timer = setTimeout(() => void tick(), options.intervalMs ?? POLL_INTERVAL_MS)
    }
    void tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  })
}
