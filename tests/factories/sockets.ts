// Real `ws` servers served by our tRPC socket handler, and raw clients that record frames and closes.
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { wsServerOptions } from '../../server/realtime/frameGuard'
import { createTrpcSocketHandler, type TrpcSocketHandlerOptions } from '../../server/realtime/wsServer'
import type { Database } from '../../server/utils/db'

export interface SocketServer {
  url: string
  /** Server-side sockets, as they open. */
  serverSockets: WebSocket[]
  registry: ReturnType<typeof createTrpcSocketHandler>['registry']
  close: () => Promise<void>
}

/** A `ws` server on a free loopback port whose sockets are served by our tRPC handler. */
export async function listenSockets(db: Database, options: TrpcSocketHandlerOptions = {}): Promise<SocketServer> {
  const serve = createTrpcSocketHandler({ database: async () => db.prisma, ...options })
  // The options the app's server gets (server/plugins/wsServerOptions.ts): `maxPayload`.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...wsServerOptions })
  const serverSockets: WebSocket[] = []
  wss.on('connection', (socket, req) => {
    serverSockets.push(socket)
    serve(socket, req)
  })
  await new Promise(resolve => wss.once('listening', resolve))
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/api/trpc-ws`,
    serverSockets,
    registry: serve.registry,
    close: () => new Promise<void>((resolve) => {
      serve.registry.stop()
      for (const client of wss.clients) client.terminate()
      wss.close(() => resolve())
    }),
  }
}

export interface Closed { code: number, reason: string }

/** A raw client socket: cookie on the upgrade, or `connectionParams.token` as its first message. */
export class TestSocket {
  readonly frames: string[] = []
  readonly socket: WebSocket
  readonly closed: Promise<Closed>
  private waiters: { test: (frame: string) => boolean, resolve: (frame: string) => void }[] = []
  private nextId = 1

  constructor(url: string, auth: { cookie?: string, token?: string } = {}) {
    this.socket = new WebSocket(auth.token ? `${url}?connectionParams=1` : url, { headers: auth.cookie ? { cookie: auth.cookie } : {} })
    this.socket.on('message', (data) => {
      const frame = data.toString()
      this.frames.push(frame)
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(frame)) return true
        w.resolve(frame)
        return false
      })
    })
    this.closed = new Promise(resolve => this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    if (auth.token) this.socket.once('open', () => this.send({ method: 'connectionParams', data: { token: auth.token } }))
  }

  static async open(url: string, auth: { cookie?: string, token?: string } = {}): Promise<TestSocket> {
    const client = new TestSocket(url, auth)
    await new Promise<void>((resolve, reject) => {
      client.socket.once('open', () => resolve())
      client.socket.once('error', reject)
    })
    return client
  }

  send(message: unknown) {
    this.socket.send(JSON.stringify(message))
  }

  waitFor(test: (frame: string) => boolean): Promise<string> {
    const seen = this.frames.find(test)
    if (seen) return Promise.resolve(seen)
    return new Promise(resolve => this.waiters.push({ test, resolve }))
  }

  /** A query or mutation over the socket; resolves with its parsed answer (`result` or `error`). */
  async call(method: 'query' | 'mutation', path: string, input: unknown = null): Promise<{ result?: { data: { json: unknown } }, error?: { json: { message: string, data: { code: string } } } }> {
    const id = this.nextId++
    this.send({ id, method, params: { path, input: { json: input } } })
    return JSON.parse(await this.waitFor(f => f.startsWith(`{"id":${id},`))) as never
  }

  subscribe(path: string, input: unknown): number {
    const id = this.nextId++
    this.send({ id, method: 'subscription', params: { path, input: { json: input } } })
    return id
  }

  started(id: number) {
    return this.waitFor(f => f === `{"id":${id},"result":{"type":"started"}}`)
  }

  /** The data frames of subscription `id`, or of every subscription. */
  dataFrames(id?: number) {
    return this.frames.filter(f => id === undefined ? f.includes('"type":"data"') : f.startsWith(`{"id":${id},"result":{"type":"data"`))
  }
}

/** Rejects when `promise` does not settle within `ms` (a deadline, not a sleep: it resolves as soon as the promise does). */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
