// The socket's own tRPC protocol handler (decision 0023) on a fake socket and a small router:
// the frame guard (1003, 4029), and tRPC's answers, byte for byte what its ws adapter sends.
import { EventEmitter } from 'node:events'
import { initTRPC, tracked, TRPCError } from '@trpc/server'
import superjson from 'superjson'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import type { WebSocket } from 'ws'
import { CLOSE_TOO_MANY_MESSAGES, messageRate } from '../../server/realtime/frameGuard'
import { SendGate } from '../../server/realtime/sendGate'
import { TrpcConnection, type TrpcSocketProtocol } from '../../server/realtime/trpcConnection'
import type { Context } from '../../server/trpc/context'

const t = initTRPC.context<Context>().create({ transformer: superjson })
const released = vi.fn()
const router = t.router({
  hello: t.procedure.input(z.object({ name: z.string() })).query(({ input }) => `hello ${input.name}`),
  whoami: t.procedure.query(({ ctx }) => ctx.ip),
  fails: t.procedure.mutation(() => {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'no' })
  }),
  ticks: t.procedure.input(z.object({ lastEventId: z.string().optional() }).optional()).subscription(async function* ({ input, signal }) {
    try {
      let n = Number(input?.lastEventId ?? 0)
      yield tracked(String(++n), { n })
      yield tracked(String(++n), { n })
      // Then waits until stopped.
      await new Promise(resolve => signal!.addEventListener('abort', resolve))
    }
    finally {
      released()
    }
  }),
  two: t.procedure.subscription(async function* () {
    yield 1
    yield 2
  }),
  broken: t.procedure.subscription(async function* () {
    yield 1
    throw new Error('boom')
  }),
})

class FakeSocket extends EventEmitter {
  readyState = 1
  bufferedAmount = 0
  sent: string[] = []
  closes: [number | undefined, string | undefined][] = []
  send(data: string) {
    this.sent.push(String(data))
  }

  close(code?: number, reason?: string) {
    this.closes.push([code, reason])
    this.readyState = 2
  }

  terminate() {
    this.readyState = 3
  }

  frame(message: unknown) {
    this.emit('message', Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)), false)
  }

  json() {
    return this.sent.filter(f => f !== 'PONG').map(f => JSON.parse(f) as Record<string, unknown>)
  }
}

function connect(options: { awaitConnectionParams?: boolean, createContext?: TrpcSocketProtocol['createContext'] } = {}) {
  const socket = new FakeSocket()
  const protocol = {
    router,
    createContext: options.createContext ?? vi.fn(async (_c, params) => ({ ip: params?.token ?? '10.0.0.1' }) as unknown as Context),
    onError: vi.fn(),
    onClose: vi.fn(),
    onFlood: vi.fn(),
  } satisfies TrpcSocketProtocol
  const ws = socket as unknown as WebSocket
  const connection = new TrpcConnection(protocol, ws, 'conn-1', '10.0.0.1', new SendGate(ws), undefined)
  connection.listen(options.awaitConnectionParams ?? false)
  return { socket, protocol, connection }
}

describe('TrpcConnection: the frame guard', () => {
  it('closes with 1003 on a frame that is not JSON, and runs nothing after it', async () => {
    const { socket, protocol } = connect()
    socket.frame('nope')
    socket.frame({ id: 1, method: 'query', params: { path: 'whoami', input: {} } })
    expect(socket.closes).toEqual([[1003, 'Invalid JSON']])
    await new Promise(resolve => setImmediate(resolve))
    expect(socket.sent).toEqual([])
    expect(protocol.onError).not.toHaveBeenCalled()
  })

  it('closes with 1003 on a binary frame', () => {
    const { socket } = connect()
    socket.emit('message', Buffer.from('{}'), true)
    expect(socket.closes).toEqual([[1003, 'Binary frames are not supported']])
  })

  it('answers PING with PONG and closes with 4029 past the burst, PINGs included, refilling with time', () => {
    let now = 1_000_000
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now)
    try {
      const { socket, protocol } = connect()
      for (let i = 0; i < messageRate.burst; i++) socket.frame('PING')
      expect(socket.sent.filter(f => f === 'PONG')).toHaveLength(messageRate.burst)
      now += 1_000
      for (let i = 0; i < messageRate.perSecond; i++) socket.frame('PING')
      expect(socket.closes).toEqual([])
      socket.frame('PING')
      expect(socket.closes).toEqual([[CLOSE_TOO_MANY_MESSAGES, 'Too many messages']])
      expect(protocol.onFlood).toHaveBeenCalledTimes(1)
      expect(socket.sent).toHaveLength(messageRate.burst + messageRate.perSecond)
    }
    finally {
      clock.mockRestore()
    }
  })

  it('counts each call of a batch', () => {
    const { socket } = connect()
    socket.frame(Array.from({ length: messageRate.burst + 1 }, (_, id) => ({ id, method: 'query', params: { path: 'whoami', input: {} } })))
    expect(socket.closes).toEqual([[CLOSE_TOO_MANY_MESSAGES, 'Too many messages']])
  })
})

describe('TrpcConnection: tRPC\'s protocol', () => {
  it('answers queries and errors as tRPC\'s adapter does, batches included', async () => {
    const { socket, protocol } = connect()
    socket.frame([
      { id: 1, method: 'query', params: { path: 'hello', input: { json: { name: 'ana' } } } },
      { id: 2, jsonrpc: '2.0', method: 'mutation', params: { path: 'fails', input: { json: null } } },
      { id: 3, method: 'query', params: { path: 'nope', input: { json: null } } },
    ])
    await expect.poll(() => socket.sent).toHaveLength(3)
    const byId = Object.fromEntries(socket.json().map(f => [f.id, f]))
    expect(socket.sent).toContain('{"id":1,"result":{"type":"data","data":{"json":"hello ana"}}}')
    expect(byId[2]).toMatchObject({ jsonrpc: '2.0', error: { json: { message: 'no', code: -32003, data: { code: 'FORBIDDEN', httpStatus: 403, path: 'fails' } } } })
    expect(byId[3]).toMatchObject({ error: { json: { data: { code: 'NOT_FOUND' } } } })
    expect(protocol.onError).toHaveBeenCalledTimes(2)
  })

  it('answers a call without an id, and an unparseable call, with id null', async () => {
    const { socket } = connect()
    socket.frame({ method: 'query', params: { path: 'whoami', input: {} } })
    socket.frame({ id: 9, method: 'nonsense' })
    await expect.poll(() => socket.sent).toHaveLength(2)
    for (const frame of socket.json()) expect(frame).toMatchObject({ id: null, error: { json: { data: { code: 'PARSE_ERROR' } } } })
  })

  it('waits for connectionParams before making the context, and passes them', async () => {
    const { socket, protocol } = connect({ awaitConnectionParams: true })
    expect(protocol.createContext).not.toHaveBeenCalled()
    socket.frame({ method: 'connectionParams', data: { token: 'from-params' } })
    socket.frame({ id: 1, method: 'query', params: { path: 'whoami', input: {} } })
    await expect.poll(() => socket.sent).toEqual(['{"id":1,"result":{"type":"data","data":{"json":"from-params"}}}'])
    expect(protocol.createContext).toHaveBeenCalledTimes(1)
  })

  it('a context that fails: id null error, the socket closed, and each call answered with the error', async () => {
    const { socket } = connect({ createContext: async () => {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'who?' })
    } })
    socket.frame({ id: 1, method: 'query', params: { path: 'whoami', input: {} } })
    await expect.poll(() => socket.closes).toHaveLength(1)
    expect(socket.json()).toEqual([
      expect.objectContaining({ id: null, error: expect.objectContaining({ json: expect.objectContaining({ message: 'who?' }) }) }),
      expect.objectContaining({ id: 1, error: expect.objectContaining({ json: expect.objectContaining({ message: 'who?' }) }) }),
    ])
  })

  it('subscriptions: started, tracked items (lastEventId merged into the input), stop → stopped, the generator returned', async () => {
    released.mockClear()
    const { socket } = connect()
    socket.frame({ id: 7, method: 'subscription', params: { path: 'ticks', input: { json: {} }, lastEventId: '40' } })
    await expect.poll(() => socket.sent).toHaveLength(3)
    expect(socket.sent).toEqual([
      '{"id":7,"result":{"type":"started"}}',
      '{"id":7,"result":{"type":"data","data":{"json":{"id":"41","data":{"n":41}}},"id":"41"}}',
      '{"id":7,"result":{"type":"data","data":{"json":{"id":"42","data":{"n":42}}},"id":"42"}}',
    ])
    socket.frame({ id: 7, method: 'subscription', params: { path: 'ticks', input: { json: {} } } })
    await expect.poll(() => socket.sent).toHaveLength(4)
    expect(socket.json()[3]).toMatchObject({ id: 7, error: { json: { message: 'Duplicate id 7', data: { code: 'BAD_REQUEST' } } } })
    socket.frame({ id: 7, method: 'subscription.stop' })
    expect(socket.sent[4]).toBe('{"id":7,"result":{"type":"stopped"}}')
    await expect.poll(() => released.mock.calls.length).toBe(1)
  })

  it('a generator that ends sends stopped; one that throws sends its error, then stopped', async () => {
    const { socket } = connect()
    socket.frame({ id: 1, method: 'subscription', params: { path: 'two', input: {} } })
    await expect.poll(() => socket.sent.at(-1)).toBe('{"id":1,"result":{"type":"stopped"}}')
    expect(socket.sent).toHaveLength(4)
    socket.frame({ id: 2, method: 'subscription', params: { path: 'broken', input: {} } })
    await expect.poll(() => socket.sent.at(-1)).toBe('{"id":2,"result":{"type":"stopped"}}')
    expect(socket.json().at(-2)).toMatchObject({ id: 2, error: { json: { message: 'boom', data: { code: 'INTERNAL_SERVER_ERROR' } } } })
  })

  it('the socket closing stops its subscriptions and tells the handler once', async () => {
    released.mockClear()
    const { socket, protocol, connection } = connect()
    socket.frame({ id: 1, method: 'subscription', params: { path: 'ticks', input: {} } })
    await expect.poll(() => socket.sent).toHaveLength(3)
    socket.readyState = 3
    socket.emit('close', 1000, Buffer.from(''))
    await expect.poll(() => released.mock.calls.length).toBe(1)
    expect(protocol.onClose).toHaveBeenCalledExactlyOnceWith(connection, 1000, expect.any(Buffer))
    expect(socket.sent).toHaveLength(3)
  })
})
