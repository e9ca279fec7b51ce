import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client'
import superjson from 'superjson'
import { afterAll, describe, expect, inject, it } from 'vitest'
import WebSocket from 'ws'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { httpClient, webSocketWithHeaders } from './helpers'

const baseUrl = inject('baseUrl')
const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl)
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Sends one frame and resolves with the close code the server answers with. */
async function closeCodeAfter(data: string): Promise<number> {
  const socket = await open()
  const closed = new Promise<number>(resolve => socket.once('close', code => resolve(code)))
  socket.send(data)
  return closed
}

/** A fresh socket still gets answers: a keep-alive ping, then a real call. */
async function serverAnswers() {
  const socket = await open()
  const messages: string[] = []
  const got = (n: number) => new Promise<void>((resolve) => {
    const check = () => {
      if (messages.length >= n) resolve()
    }
    socket.on('message', (data) => {
      messages.push(data.toString())
      check()
    })
    check()
  })
  socket.send('PING')
  await got(1)
  expect(messages[0]).toBe('PONG')
  socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me', input: { json: null } } }))
  await got(2)
  expect(JSON.parse(messages[1]!)).toMatchObject({ id: 1, result: { type: 'data' } })
  socket.close()
}

describe('WebSocket frame limits', () => {
  it('closes with 1009 on a frame over 64 KiB', async () => {
    const big = JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me', input: { json: 'x'.repeat(70 * 1024) } } })
    expect(await closeCodeAfter(big)).toBe(1009)
    await serverAnswers()
  })

  it('closes with 1003 on a frame that is not JSON', async () => {
    expect(await closeCodeAfter('not json')).toBe(1003)
    await serverAnswers()
  })
})

/** Registers a user over HTTP; returns the session cookie. */
async function signUpCookie(): Promise<string> {
  const http = httpClient(baseUrl)
  const name = `rl${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  await http.client.auth.register.mutate({ email: `${name}@example.test`, username: name, name: `Limit ${name}`, password: 'correct horse battery' })
  expect(http.cookie()).toMatch(/^tt_session=/)
  return http.cookie()
}

const wsClients: ReturnType<typeof createWSClient>[] = []
function wsClientWithCookie(cookie: string) {
  const socket = createWSClient({ url: wsUrl, WebSocket: webSocketWithHeaders({ cookie }), retryDelayMs: () => 200 })
  wsClients.push(socket)
  return createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
}

describe('WebSocket rate limit', () => {
  afterAll(async () => {
    await Promise.all(wsClients.map(s => s.close()))
  })

  it('answers TOO_MANY_REQUESTS to a burst of 60 calls from one user, and keeps serving', async () => {
    const cookie = await signUpCookie()
    const client = wsClientWithCookie(cookie)
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => client.auth.me.query()))
    const ok = results.filter(r => r.status === 'fulfilled')
    const limited = results.flatMap(r => (r.status === 'rejected' && r.reason instanceof TRPCClientError && r.reason.data?.code === 'TOO_MANY_REQUESTS' ? [r.reason] : []))
    expect(ok.length).toBeGreaterThanOrEqual(30)
    expect(limited.length).toBeGreaterThan(0)
    expect(ok.length + limited.length).toBe(60)
    // The socket stays open and the budget refills (10 per second, counted per one-second window):
    // after the wait the refusal advertised, calls are served again.
    const retrySeconds = Number(/retry in (\d+) s/.exec(limited[0]!.message)?.[1])
    expect(retrySeconds).toBe(1)
    await new Promise(resolve => setTimeout(resolve, retrySeconds * 1000))
    expect(await client.auth.me.query()).toMatchObject({ username: expect.any(String) })
    // Other clients are served meanwhile.
    await serverAnswers()
  })
})
