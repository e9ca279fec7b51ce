import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client'
import superjson from 'superjson'
import type { AppRouter } from '~~/server/trpc/routers/_app'

/** Reconnect delay: exponential from 500 ms up to 30 s, with jitter so tabs do not reconnect in step. */
export function reconnectDelay(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2)
}

/**
 * tRPC's client waits for `open` or `error` on a new socket; one closed before it opened without an
 * `error` event (a proxy or an intercepting tool refusing it) would leave it waiting for good and
 * never retry. Report such a close as the failed connection it is.
 */
function retryable(Base: typeof WebSocket): typeof WebSocket {
  return class RetryableWebSocket extends Base {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      let settled = false
      const settle = () => {
        settled = true
      }
      this.addEventListener('open', settle)
      this.addEventListener('error', settle)
      this.addEventListener('close', () => {
        if (!settled) this.dispatchEvent(new Event('error'))
      })
    }
  }
}

/**
 * The tab's one WebSocket (tRPC subscriptions). Client-only: the socket authenticates with the
 * session cookie of its upgrade request. It opens on the first subscription and stays open.
 */
export default defineNuxtPlugin(() => {
  const realtime = useRealtimeStore()
  // No WebSocket (a test DOM): no live updates, the pages work as before.
  if (typeof WebSocket === 'undefined') return { provide: { trpcWs: null as TRPCClient<AppRouter> | null } }
  const socket = createWSClient({
    url: `${location.origin.replace(/^http/, 'ws')}/api/trpc-ws`,
    WebSocket: retryable(WebSocket),
    lazy: { enabled: true, closeMs: 10_000 },
    retryDelayMs: reconnectDelay,
    keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 5_000 },
  })
  socket.connectionState.subscribe({ next: s => realtime.socketState(s.state, !!s.error) })
  realtime.watchBrowser()
  const trpcWs: TRPCClient<AppRouter> | null = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
  return { provide: { trpcWs } }
})
