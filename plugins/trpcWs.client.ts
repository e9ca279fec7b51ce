import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client'
import superjson from 'superjson'
import type { AppRouter } from '~~/server/trpc/routers/_app'

/** Close codes the server sends (docs/websocket.md, "Close codes"). */
export const CloseCode = {
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  MESSAGE_TOO_BIG: 1009,
  SLOW_CONSUMER: 4008,
} as const

/**
 * Reconnect delay: exponential from 500 ms up to 30 s, with jitter so tabs do not reconnect in step.
 * The first attempt after a close depends on why the server closed: a slow consumer (4008) comes
 * back at once and resumes from its last event id; a server restart (1001) spreads every tab over
 * 0.5–5 s so the new process is not hit by all of them in the same instant.
 */
export function reconnectDelay(attempt: number, closeCode: number | null = null, random: () => number = Math.random): number {
  if (attempt === 0 && closeCode === CloseCode.SLOW_CONSUMER) return 0
  if (attempt === 0 && closeCode === CloseCode.GOING_AWAY) return 500 + random() * 4500
  return Math.min(30_000, 500 * 2 ** attempt) * (0.5 + random() / 2)
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
function retryable(Base: typeof WebSocket, onClose: (code: number, reason: string) => void): typeof WebSocket {
  return class RetryableWebSocket extends Base {
    private closedByClient = false
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      let settled = false
      const settle = () => {
        settled = true
      }
      this.addEventListener('open', settle)
      this.addEventListener('error', settle)
      this.addEventListener('close', (event) => {
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
  let lastCloseCode: number | null = null
  const url = `${location.origin.replace(/^http/, 'ws')}/api/trpc-ws`
  const socket = createWSClient({
    url: async () => {
      await gate.wait()
      return url
    },
    WebSocket: retryable(WebSocket, (code, reason) => {
      realtime.closed(code, reason)
      lastCloseCode = code
      if (code === CloseCode.MESSAGE_TOO_BIG || code === CloseCode.UNSUPPORTED_DATA) {
        // A bug of this client (it sent a frame the server refuses): worth a line in the console.
        console.warn(`[realtime] the server closed the socket with ${code}${reason ? ` (${reason})` : ''}; reconnecting`)
      }
    }),
    lazy: { enabled: true, closeMs: 10_000 },
    retryDelayMs: (attempt) => {
      const code = lastCloseCode
      lastCloseCode = null
      return gate.schedule(reconnectDelay(attempt, code))
    },
    keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 5_000 },
  })
  let wasLive = false
  socket.connectionState.subscribe({
    next: (s) => {
      realtime.socketState(s.state, !!s.error)
      // Connected again: the server is reachable, send what was queued meanwhile.
      if (s.state === 'pending' && wasLive) void outbox.replay()
      if (s.state === 'pending') wasLive = true
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
  const trpcWs: TRPCClient<AppRouter> | null = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
  return { provide: { trpcWs } }
})
