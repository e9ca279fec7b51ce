// The tab's socket client when an instance shuts down gracefully: the server closes with 1012, the
// client reconnects at once (no backoff, under 250 ms of jitter) and resubscribes from its last seq.
import type { AddressInfo } from 'node:net'
import { createTRPCClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import { afterEach, describe, expect, it } from 'vitest'
import type { WebSocket as NodeWebSocket } from 'ws'
import { WebSocketServer } from 'ws'
import type { AppRouter } from '~~/server/trpc/routers/_app'
import { BrowserLikeWebSocket } from '../factories/tabWebSocket'
import { CloseCode, createRealtimeSocket, reconnectDelay } from '~/plugins/trpcWs.client'

interface Subscription { id: number, method: string, params: { path: string, lastEventId?: string | null } }

/**
 * A tRPC-protocol server: its first socket gets seq 5 and 6 of the subscription, then is closed with
 * 1012 "service restart"; later sockets record the subscription they are asked for.
 */
async function restartingServer() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  const subscriptions: Subscription[] = []
  let resolveSecond: (s: Subscription) => void
  const second = new Promise<Subscription>(resolve => (resolveSecond = resolve))
  wss.on('connection', (socket: NodeWebSocket) => {
    const first = subscriptions.length === 0
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as Subscription
      if (message.method !== 'subscription') return
      subscriptions.push(message)
      socket.send(JSON.stringify({ id: message.id, result: { type: 'started' } }))
      if (!first) return resolveSecond(message)
      for (const seq of [5, 6]) socket.send(JSON.stringify({ id: message.id, result: { type: 'data', id: String(seq), data: { json: { id: String(seq), data: { seq } } } } }))
      socket.close(CloseCode.SERVICE_RESTART, 'service restart')
    })
  })
  await new Promise(resolve => wss.once('listening', resolve))
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}`,
    second,
    close: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate()
      wss.close(() => resolve())
    }),
  }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

describe('the tab socket on 1012 (service restart)', () => {
  it('reconnects at once, within 250 ms of jitter, only on the first attempt', () => {
    expect(reconnectDelay(0, CloseCode.SERVICE_RESTART, () => 0)).toBe(0)
    expect(reconnectDelay(0, CloseCode.SERVICE_RESTART, () => 0.999)).toBeLessThan(250)
    // Should that attempt fail (the other instance is down too), the usual backoff applies.
    expect(reconnectDelay(1, CloseCode.SERVICE_RESTART, () => 0)).toBe(500)
  })

  it('resubscribes with the last seq it received, after the delay reconnectDelay gives 1012', async () => {
    const server = await restartingServer()
    cleanups.push(server.close)
    const delays: { attempt: number, code: number | null, ms: number }[] = []
    const closes: number[] = []
    const socket = createRealtimeSocket({
      url: server.url,
      WebSocket: BrowserLikeWebSocket,
      onClose: code => closes.push(code),
      onSignedOut: () => {},
      retryDelay: (attempt, code) => {
        const ms = reconnectDelay(attempt, code)
        delays.push({ attempt, code, ms })
        return ms
      },
    })
    cleanups.push(() => socket.close())
    const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
    const seqs: unknown[] = []
    const sub = client.project.onEvent.subscribe({ projectId: 'p1' }, { onData: ({ data }) => seqs.push((data as unknown as { seq: number }).seq), onError: () => {} })
    cleanups.push(async () => sub.unsubscribe())

    const resumed = await server.second
    expect(resumed.params).toMatchObject({ path: 'project.onEvent', lastEventId: '6' })
    expect(seqs).toEqual([5, 6])
    expect(closes).toEqual([CloseCode.SERVICE_RESTART])
    expect(delays).toHaveLength(1)
    expect(delays[0]).toMatchObject({ attempt: 0, code: CloseCode.SERVICE_RESTART })
    expect(delays[0]!.ms).toBeLessThan(250)
  })
})
