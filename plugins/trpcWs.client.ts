import { createTRPCClient, createWSClient, httpLink, httpSubscriptionLink, wsLink, type TRPCClient } from '@trpc/client'
import superjson from 'superjson'
import type { AppRouter } from '~~/server/trpc/routers/_app'
import { pollingLink, probeWebSocket, switchingLink, TransportController, WS_OPEN_TIMEOUT_MS } from '~/utils/realtimeTransport'

/** Close codes the server sends (docs/websocket.md, "Close codes"). */
export const CloseCode = {
  GOING_AWAY: 1001,
  /** the instance is shutting down gracefully (SIGTERM): another one takes the socket at once */
  SERVICE_RESTART: 1012,
  UNSUPPORTED_DATA: 1003,
  MESSAGE_TOO_BIG: 1009,
  SLOW_CONSUMER: 4008,
  /** too many messages from this client */
  TOO_MANY_MESSAGES: 4029,
  /** the session or token was revoked, expired or ended (sign-out, password change) */
  UNAUTHORIZED: 4401,
  /** the socket did not authenticate in time */
  AUTH_TIMEOUT: 4408,
  /** too many sockets for this account or address */
  TOO_MANY_SOCKETS: 4429,
} as const

/** Closes that mean this tab is no longer signed in: reconnecting would only be closed again. */
export function isSignedOutClose(code: number): boolean {
  return code === CloseCode.UNAUTHORIZED || code === CloseCode.AUTH_TIMEOUT
}

/**
 * Reconnect delay: exponential from 500 ms up to 30 s, with jitter so tabs do not reconnect in step.
 * The first attempt after a close depends on why the server closed: a slow consumer (4008) comes
 * back at once and resumes from its last event id; so does a graceful shutdown (1012, within 250 ms
 * of jitter: the server already spread its closes); a server restart (1001) spreads every tab over
 * 0.5–5 s so the new process is not hit by all of them in the same instant.
 */
export function reconnectDelay(attempt: number, closeCode: number | null = null, random: () => number = Math.random): number {
  if (attempt === 0 && closeCode === CloseCode.SLOW_CONSUMER) return 0
  if (attempt === 0 && closeCode === CloseCode.GOING_AWAY) return 500 + random() * 4500
  // A graceful shutdown already spreads its closes over a few seconds: reconnect now (to another instance).
  if (attempt === 0 && closeCode === CloseCode.SERVICE_RESTART) return random() * 250
  // Over the socket cap: another tab (or device) may close one soon; do not knock at once.
  if (attempt === 0 && closeCode === CloseCode.TOO_MANY_SOCKETS) return 5_000 + random() * 5_000
  return Math.min(30_000, 500 * 2 ** attempt) * (0.5 + random() / 2)
}

/** The sign-in page, coming back to `from` afterwards. */
export function signInPath(from: string): string {
  return from && from !== '/' && !from.startsWith('/login') ? `/login?redirect=${encodeURIComponent(from)}` : '/login'
}

/**
 * Holds each new socket for its backoff delay, and lets it through at once on `release()` (the
 * browser is back online). tRPC's own wait (`retryDelayMs`) is a sleep nothing can cut short, so
 * the client is given 0 there and waits here instead, in the URL it awaits before each socket.
 * While the browser says it is offline a socket cannot open anyway: wait for `online` (with a
 * 30 s fallback, as `navigator.onLine` is not always right).
 */
export function createBackoffGate(isOnline: () => boolean) {
  let delay = 0
  let skip = false
  const waiting = new Set<() => void>()
  return {
    /** Records the delay for the next socket; returns tRPC's own wait (none). */
    schedule(ms: number): number {
      delay = skip ? 0 : ms
      skip = false
      return 0
    },
    async wait(): Promise<void> {
      const ms = delay
      delay = 0
      const online = isOnline()
      if (ms <= 0 && online) return
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiting.delete(done)
          resolve()
        }
        const timer = setTimeout(done, online ? ms : Math.max(ms, 30_000))
        waiting.add(done)
      })
    },
    /** Lets a waiting socket through now; with `next`, the next one (a reconnect about to start) does not wait either. */
    release(next = false) {
      delay = 0
      if (waiting.size) [...waiting].forEach(done => done())
      else skip = next
    },
  }
}

/**
 * tRPC's client waits for `open` or `error` on a new socket; one closed before it opened without an
 * `error` event (a proxy or an intercepting tool refusing it) would leave it waiting for good and
 * never retry. Report such a close as the failed connection it is. Closes this tab did not ask for
 * (the server's or the network's) are reported to `onClose` before tRPC sees them, so the delay of
 * the reconnect that follows can depend on the code.
 */
function retryable(Base: typeof WebSocket, onClose: (code: number, reason: string) => void, onOpenFailed: () => void = () => {}): typeof WebSocket {
  return class RetryableWebSocket extends Base {
    private closedByClient = false
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      let settled = false
      let opened = false
      const settle = () => {
        settled = true
      }
      // A proxy that holds the upgrade without answering: give up on it (and count it as failed).
      const openTimer = setTimeout(() => this.close(), WS_OPEN_TIMEOUT_MS)
      this.addEventListener('open', () => {
        opened = true
        clearTimeout(openTimer)
      })
      this.addEventListener('open', settle)
      this.addEventListener('error', settle)
      this.addEventListener('close', (event) => {
        clearTimeout(openTimer)
        if (!opened) onOpenFailed()
        if (!this.closedByClient) onClose(event.code, event.reason)
        if (!settled) this.dispatchEvent(new Event('error'))
      })
    }

    override close(code?: number, reason?: string) {
      this.closedByClient = true
      super.close(code, reason)
    }
  }
}

export interface RealtimeSocketOptions {
  url: string | (() => Promise<string>)
  WebSocket: typeof WebSocket
  /** Every close this tab did not ask for. */
  onClose?: (code: number, reason: string) => void
  /** A socket closed before it opened (refused upgrade) or did not open in time. */
  onOpenFailed?: () => void
  /** Once, when the server says this tab is signed out (4401 / 4408): the socket stays closed. */
  onSignedOut: (code: number) => void
  /** Reconnect delay by attempt and the code of the close before it (default: {@link reconnectDelay}, no gate). */
  retryDelay?: (attempt: number, closeCode: number | null) => number
}

/**
 * The tab's tRPC WebSocket client: lazy, with keep-alive and reconnects whose delay depends on the
 * close code. A signed-out close (4401 revoked or expired, 4408 not authenticated) stops it for
 * good — reconnecting would be closed again, in a loop — and reports it once.
 */
export function createRealtimeSocket(options: RealtimeSocketOptions) {
  let lastCloseCode: number | null = null
  let signedOut = false
  const retryDelay = options.retryDelay ?? ((attempt, code) => reconnectDelay(attempt, code))
  const socket: ReturnType<typeof createWSClient> = createWSClient({
    url: options.url,
    WebSocket: retryable(options.WebSocket, (code, reason) => {
      options.onClose?.(code, reason)
      lastCloseCode = code
      if (isSignedOutClose(code)) {
        if (signedOut) return
        signedOut = true
        // Before tRPC schedules a reconnect: `close()` turns reconnecting off and ends the subscriptions.
        void socket.close()
        options.onSignedOut(code)
        return
      }
      if (code === CloseCode.MESSAGE_TOO_BIG || code === CloseCode.UNSUPPORTED_DATA || code === CloseCode.TOO_MANY_MESSAGES) {
        // A bug of this client (it sent a frame the server refuses): worth a line in the console.
        console.warn(`[realtime] the server closed the socket with ${code}${reason ? ` (${reason})` : ''}; reconnecting`)
      }
    }, options.onOpenFailed),
    lazy: { enabled: true, closeMs: 10_000 },
    retryDelayMs: (attempt) => {
      const code = lastCloseCode
      lastCloseCode = null
      return retryDelay(attempt, code)
    },
    keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 5_000 },
  })
  return socket
}

/**
 * The tab's one WebSocket (tRPC subscriptions). Client-only: the socket authenticates with the
 * session cookie of its upgrade request. It opens on the first subscription and stays open.
 * Also starts the offline write queue (it replays on `online` and after a reconnect).
 */
export default defineNuxtPlugin(() => {
  const realtime = useRealtimeStore()
  const outbox = startOutbox()
  // No WebSocket (a test DOM): no live updates, the pages work as before.
  if (typeof WebSocket === 'undefined') {
    realtime.watchBrowser(() => void outbox.replay())
    return { provide: { trpcWs: null as TRPCClient<AppRouter> | null } }
  }

  const gate = createBackoffGate(() => navigator.onLine)
  const url = `${location.origin.replace(/^http/, 'ws')}/api/trpc-ws`
  const router = useRouter()
  const signOut = () => {
    realtime.signedOut()
    realtime.forgetSync()
    useAuthStore().clear()
    // A fresh app on the sign-in page (no state of the signed-out user survives), back here after.
    void clearOfflineCaches().then(() => reloadNuxtApp({ path: signInPath(router.currentRoute.value.fullPath), force: true }))
  }
  // WebSocket first; SSE, then polling, when it cannot be used (docs/websocket.md, "Fallback transports").
  const transport = new TransportController({ probeWebSocket: () => probeWebSocket(WebSocket, url) })
  transport.onChange(() => {
    realtime.setTransport(transport.transport, transport.live)
    if (transport.live) void outbox.replay()
  })
  const socket = createRealtimeSocket({
    url: async () => {
      await gate.wait()
      return url
    },
    WebSocket,
    onClose: (code, reason) => realtime.closed(code, reason),
    onOpenFailed: () => transport.wsFailed(),
    onSignedOut: signOut,
    retryDelay: (attempt, code) => gate.schedule(reconnectDelay(attempt, code)),
  })
  let wasLive = false
  socket.connectionState.subscribe({
    next: (s) => {
      realtime.socketState(s.state, !!s.error)
      // Connected again: the server is reachable, send what was queued meanwhile.
      if (s.state === 'pending' && wasLive) void outbox.replay()
      if (s.state === 'pending') wasLive = true
      if (s.state === 'pending') transport.wsOpened()
    },
  })
  realtime.watchBrowser(() => {
    // Back online: skip the backoff wait. A socket that still looks open may be dead after a network
    // change (browsers keep it until a TCP timeout), so it is replaced; tRPC moves the subscriptions
    // to the new one with their last event ids and closes the old one. `reconnect` is private in
    // @trpc/client's types (pinned 11.25.2) but is what the server's own `reconnect` message calls.
    const open = socket.connection?.state === 'open'
    gate.release(open)
    if (open) socket['reconnect'](null)
    void outbox.replay()
  })
  // Its own HTTP client for polling (`$trpc` would make this plugin's type depend on itself).
  const http = httpLink({ url: `${location.origin}/api/trpc`, transformer: superjson })
  const trpc = createTRPCClient<AppRouter>({ links: [http] })
  const trpcWs: TRPCClient<AppRouter> | null = createTRPCClient<AppRouter>({
    links: [switchingLink<AppRouter>({
      controller: transport,
      websocket: wsLink({ client: socket, transformer: superjson }),
      sse: httpSubscriptionLink({ url: `${location.origin}/api/trpc`, transformer: superjson }),
      polling: pollingLink({
        fetchPage: (procedure, input) => procedure === 'project.eventsSince'
          ? trpc.project.eventsSince.query({ projectId: String(input.projectId), lastEventId: String(input.lastEventId) })
          : trpc.notification.eventsSince.query({ lastEventId: String(input.lastEventId) }),
        latestId: async (path, input) => path === 'project.onEvent'
          ? String((await trpc.project.byId.query({ id: String(input.projectId) })).eventSeq)
          : String((await trpc.notification.unreadCount.query()).lastSeq),
      }),
      http,
      onSignedOut: signOut,
    })],
  })
  return { provide: { trpcWs } }
})
