// The tab's socket client against a real `ws` server that ends its sign-in: on 4401 (and 4408) it
// reports "signed out" once and stays closed (no reconnect loop); on other codes it reconnects.
import type { AddressInfo } from 'node:net'
import { createTRPCClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws'
import type { AppRouter } from '~~/server/trpc/routers/_app'
import { BrowserLikeWebSocket } from '../factories/tabWebSocket'
import { CloseCode, createRealtimeSocket, isSignedOutClose, signInPath } from '~/plugins/trpcWs.client'

/** A server that closes every socket with `code` as soon as its first message (the subscription) arrives. */
async function closingServer(code: number) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  const connections: number[] = []
  let onConnection: (() => void) | null = null
  wss.on('connection', (socket) => {
    connections.push(Date.now())
    onConnection?.()
    socket.once('message', () => socket.close(code, 'Signed out: sign in again'))
  })
  await new Promise(resolve => wss.once('listening', resolve))
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    nextConnection: () => new Promise<void>(resolve => (onConnection = resolve)),
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

function subscribeThrough(socket: ReturnType<typeof createRealtimeSocket>) {
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
  let completed = false
  const sub = client.project.onEvent.subscribe({ projectId: 'p1' }, { onComplete: () => (completed = true), onError: () => {} })
  return { sub, completed: () => completed }
}

describe('the tab socket on a signed-out close', () => {
  it('on 4401 goes to sign-in once and does not reconnect', async () => {
    const server = await closingServer(CloseCode.UNAUTHORIZED)
    cleanups.push(server.close)
    const signedOut: number[] = []
    const reported = new Promise<void>((resolve) => {
      const socket = createRealtimeSocket({
        url: server.url,
        WebSocket: BrowserLikeWebSocket,
        onSignedOut: (code) => {
          signedOut.push(code)
          resolve()
        },
        retryDelay: () => 0,
      })
      const { sub } = subscribeThrough(socket)
      cleanups.push(async () => sub.unsubscribe())
    })
    await reported
    expect(signedOut).toEqual([4401])
    // With a reconnect delay of 0, a reconnecting client would be back before this round trip ends.
    const probe = new NodeWebSocket(server.url)
    await new Promise(resolve => probe.once('open', resolve))
    probe.terminate()
    expect(server.connections).toHaveLength(2) // the tab's one socket, and the probe
  })

  it('treats 4408 like 4401, and reconnects after any other code', async () => {
    expect(isSignedOutClose(CloseCode.AUTH_TIMEOUT)).toBe(true)
    expect(isSignedOutClose(CloseCode.SLOW_CONSUMER)).toBe(false)
    const server = await closingServer(CloseCode.SLOW_CONSUMER)
    cleanups.push(server.close)
    const signedOut: number[] = []
    const second = server.nextConnection().then(() => server.nextConnection())
    const socket = createRealtimeSocket({
      url: server.url,
      WebSocket: BrowserLikeWebSocket,
      onSignedOut: code => signedOut.push(code),
      retryDelay: () => 0,
    })
    const { sub } = subscribeThrough(socket)
    await second
    expect(signedOut).toEqual([])
    sub.unsubscribe()
    await socket.close()
  })

  it('sends the visitor to the sign-in page, back to where they were afterwards', () => {
    expect(signInPath('/projects/p1?task=t2')).toBe('/login?redirect=%2Fprojects%2Fp1%3Ftask%3Dt2')
    expect(signInPath('/')).toBe('/login')
    expect(signInPath('/login?redirect=%2F')).toBe('/login')
  })
})
