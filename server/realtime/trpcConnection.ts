// Over 300 lines on purpose: tRPC's WebSocket protocol is one object per socket (decision 0023), what
// @trpc/server's `getWSConnectionHandler` does without its ~20 closures per connection; its
// subscriptions are in trpcSubscription.ts.
import type { WebSocket } from 'ws'
import { TRPCError, type AnyTRPCRouter } from '@trpc/server'
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable'
import {
  callProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  isAbortError,
  isAsyncIterable,
  isTrackedEnvelope,
  parseConnectionParamsFromUnknown,
  parseTRPCMessage,
  transformTRPCResponse,
} from '@trpc/server/unstable-core-do-not-import'
import type { Context } from '../trpc/context'
import { CLOSE_TOO_MANY_MESSAGES, inspectFrame, messageRate, type RawData } from './frameGuard'
import { LiveSocket } from './liveSocket'
import { BoundSink } from './wireFrames'
import { closeWithGrace, WS_OPEN, type SendGate } from './sendGate'
import { Subscription, type CallType, type RequestId, type SubscriptionOwner } from './trpcSubscription'

type ConnectionParams = Record<string, string | undefined> | null

/** What the adapter's `onError` gets (as tRPC's `onError` of the ws adapter, with the socket instead of its request). */
export interface SocketErrorInfo {
  error: TRPCError
  path: string | undefined
  type: CallType | 'unknown'
  input: unknown
  ctx: Context | undefined
  connection: TrpcConnection
}

/** What every socket of one handler shares: the router, how contexts are made, where errors go. */
export interface TrpcSocketProtocol {
  router: AnyTRPCRouter
  /** The socket's context, made once (after its `connectionParams` when the URL asks for them). */
  createContext: (connection: TrpcConnection, connectionParams: ConnectionParams) => Promise<Context>
  onError: (info: SocketErrorInfo) => void
  /** Called once when the socket has closed. */
  onClose: (connection: TrpcConnection, code: number, reason: Buffer) => void
  /** Called once when a flooding socket is closed with 4029 (metrics). */
  onFlood: () => void
}

/** tRPC's answer when an error cannot be formatted (what its adapter sends then). */
const fallbackErrorShape = {
  code: -32603,
  message: 'Internal server error',
  data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
}

function isPresencePatch(value: unknown): boolean {
  const patch = value as { kind?: unknown, upsert?: unknown } | null | undefined
  return patch?.kind === 'patch' && Array.isArray(patch.upsert)
}

const CONNECTION = Symbol('tt.trpcConnection')
type Tagged = WebSocket & { [CONNECTION]: TrpcConnection }

// One listener of each kind for every socket: `this` is the socket, which points at its connection.
function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean) {
  (this as Tagged)[CONNECTION].message(data, isBinary)
}
function onSocketClose(this: WebSocket, code: number, reason: Buffer) {
  (this as Tagged)[CONNECTION].socketClosed(code, reason)
}
function onSocketError(this: WebSocket, error: Error) {
  (this as Tagged)[CONNECTION].report(getTRPCErrorFromUnknown(error), undefined, 'unknown', undefined)
}

/**
 * One socket served with tRPC's WebSocket protocol (what the stock `wsLink` speaks, unchanged):
 * `connectionParams`, queries, mutations, subscriptions (tracked ids, `lastEventId`), `subscription.stop`,
 * batches, `PING`/`PONG`, and tRPC's error shapes. It is also the socket's registry entry
 * ({@link LiveSocket}) and its frame guard (bad frames and floods are closed before anything runs).
 * State in fields, behaviour on the prototype: a socket costs this object, its send gate and its context.
 */
export class TrpcConnection extends LiveSocket implements SubscriptionOwner {
  ctx: Context | undefined = undefined
  /** Settles true once the context is made (false if that failed); null while `connectionParams` are awaited. */
  private ready: Promise<boolean> | null = null
  private ctxError: TRPCError | null = null
  /** The upgrade request's cookie, until the context has read it. */
  cookie: string | undefined
  /** Subscriptions whose generator runs in this loop, by id (null: none). */
  private subscriptions: Map<RequestId, Subscription> | null = null
  private tokens = messageRate.burst
  private refilledAt = Date.now()
  /** Set once the server closes the socket (flood, bad frame): nothing it sends after runs. */
  private refused = false

  constructor(
    readonly protocol: TrpcSocketProtocol,
    socket: WebSocket,
    connId: string,
    ip: string,
    gate: SendGate,
    cookie: string | undefined,
  ) {
    super(socket, connId, ip)
    this.gate = gate
    this.cookie = cookie
  }

  /**
   * Starts serving (once the registry has it): listens to the socket, and makes the context now,
   * or when the first message brings the `connectionParams` the URL announced.
   */
  listen(awaitConnectionParams: boolean) {
    const socket = this.socket
    ;(socket as Tagged)[CONNECTION] = this
    socket.on('message', onSocketMessage)
    socket.on('close', onSocketClose)
    socket.on('error', onSocketError)
    if (!awaitConnectionParams) this.ready = this.start(null)
  }

  /** Makes the context; on failure answers `{ id: null, error }` and closes the socket, as tRPC's adapter does. */
  private async start(connectionParams: (() => ConnectionParams) | null): Promise<boolean> {
    try {
      this.ctx = await this.protocol.createContext(this, connectionParams ? connectionParams() : null)
      return true
    }
    catch (cause) {
      const error = this.ctxError = getTRPCErrorFromUnknown(cause)
      this.report(error, undefined, 'unknown', undefined)
      this.respond({ id: null, error: this.errorShape(error, 'unknown', undefined, undefined) })
      setImmediate(() => this.socket.close())
      return false
    }
  }

  /** An incoming frame: checked (1003 for binary or non-JSON, 4029 past the message rate), then run. */
  message(data: RawData, isBinary: boolean) {
    if (this.refused || this.socket.readyState !== WS_OPEN) return
    this.seenAt = Date.now()
    const frame = inspectFrame(data, isBinary)
    if ('code' in frame) return this.refuse(frame.code, frame.reason)
    if (!this.charge(frame.cost)) return
    // A PONG answer is only a keep-alive: dropped first, like presence, for a reader that is behind.
    if (frame.keepAlive) {
      if (frame.keepAlive === 'PING') this.gate?.send('PONG', true)
      return
    }
    const message = frame.message
    if (this.ready === null) {
      this.ready = this.start(() => {
        if (typeof message !== 'object' || message === null) {
          throw new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed TRPCConnectionParamsMessage' })
        }
        return parseConnectionParamsFromUnknown((message as { data?: unknown }).data)
      })
      return
    }
    const calls = (Array.isArray(message) ? message : [message]).filter(call => !this.answerOwned(call))
    let parsed: ReturnType<typeof parseTRPCMessage>[]
    try {
      const transformer = this.protocol.router._def._config.transformer
      parsed = calls.map(call => parseTRPCMessage(call, transformer))
    }
    catch (cause) {
      const error = new TRPCError({ code: 'PARSE_ERROR', cause })
      this.respond({ id: null, error: this.errorShape(error, 'unknown', undefined, undefined) })
      return
    }
    for (let i = 0; i < parsed.length; i++) {
      this.call(parsed[i]!, i).catch((cause: unknown) => this.report(getTRPCErrorFromUnknown(cause), undefined, 'unknown', undefined))
    }
  }

  /** Takes `cost` messages from the socket's bucket; false (and closed with 4029) when it is empty. */
  private charge(cost: number): boolean {
    const now = Date.now()
    this.tokens = Math.min(messageRate.burst, this.tokens + ((now - this.refilledAt) / 1000) * messageRate.perSecond) - cost
    this.refilledAt = now
    if (this.tokens >= 0) return true
    this.protocol.onFlood()
    this.refuse(CLOSE_TOO_MANY_MESSAGES, 'Too many messages')
    return false
  }

  /** Closes for a bad frame or a flood; a reader that never takes the close frame is cut 2 s later. */
  private refuse(code: number, reason: string) {
    this.refused = true
    closeWithGrace(this.socket, code, reason)
  }

  /**
   * A message about a subscription the send gate owns past any loop (a handed-off `DirectSink`):
   * `subscription.stop` detaches it and is answered here; a new subscription reusing its id replaces
   * it (and runs). True when answered here.
   */
  private answerOwned(message: unknown): boolean {
    if (typeof message !== 'object' || message === null || !this.gate) return false
    const { id, method } = message as { id?: unknown, method?: unknown }
    if (method !== 'subscription.stop' && method !== 'subscription') return false
    if (typeof id !== 'string' && typeof id !== 'number') return false
    const owned = this.gate.subscription(JSON.stringify(id))
    if (!owned) return false
    owned.detach()
    if (method === 'subscription') return false
    this.gate.send(owned.stoppedFrame())
    return true
  }

  /** Runs one call of a frame (as tRPC's adapter: the same answers, errors and order). */
  private async call(message: ReturnType<typeof parseTRPCMessage>, batchIndex: number) {
    const { id, jsonrpc } = message
    if (id === null || id === undefined) {
      const error = new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' })
      this.report(error, undefined, 'unknown', undefined)
      this.respond({ id: null, jsonrpc, error: this.errorShape(error, 'unknown', undefined, undefined) })
      return
    }
    if (message.method === 'subscription.stop') {
      this.subscriptions?.get(id)?.stop()
      return
    }
    const type = message.method
    const { path, lastEventId } = message.params
    let input = message.params.input
    if (lastEventId !== undefined) {
      if (typeof input === 'object' && input !== null && !Array.isArray(input)) input = { ...input, lastEventId }
      else input ??= { lastEventId }
    }
    if (type === 'subscription' && this.subscriptions?.has(id)) {
      this.respondWithError(id, jsonrpc, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }), type, path, input)
      return
    }
    let subscription: Subscription | null = null
    if (type === 'subscription') {
      subscription = new Subscription(this, id, jsonrpc, path, input)
      ;(this.subscriptions ??= new Map()).set(id, subscription)
    }
    const signal = subscription ? subscription.controller.signal : new AbortController().signal
    try {
      if (!(await this.ready)) throw this.ctxError
      if (subscription && (subscription.done || this.socket.readyState !== WS_OPEN)) {
        if (!subscription.done) subscription.stop()
        return
      }
      const result: unknown = await callProcedure({ router: this.protocol.router, path, getRawInput: async () => input, ctx: this.ctx, type, signal, batchIndex })
      const iterable = isAsyncIterable(result) || isObservable(result)
      if (!subscription) {
        if (iterable) throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `Cannot return an async iterable or observable from a ${type} procedure with WebSockets` })
        this.respond({ id, jsonrpc, result: { type: 'data', data: result } })
        return
      }
      if (!iterable) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Subscription ${path} did not return an observable or a AsyncGenerator` })
      const source = isObservable(result) ? observableToAsyncIterable(result, signal) : result as AsyncIterable<unknown>
      const iterator = source[Symbol.asyncIterator]()
      if (subscription.done || this.socket.readyState !== WS_OPEN) {
        // Stopped (or closed) while the procedure started: its generator is returned, never run.
        subscription.iterator = iterator
        if (!subscription.done) subscription.stop()
        else void iterator.return?.().catch(() => {})
        return
      }
      this.respond({ id, jsonrpc, result: { type: 'started' } })
      subscription.run(iterator)
    }
    catch (cause) {
      const error = getTRPCErrorFromUnknown(cause)
      // A procedure that gave up because its subscription was stopped: just `stopped`.
      if (subscription?.done && isAbortError(error.cause)) return
      this.respondWithError(id, jsonrpc, error, type, path, input)
      // A subscription that failed to start gets its error and no `stopped` (as in tRPC's adapter).
      if (subscription && !subscription.done) {
        subscription.done = true
        subscription.controller.abort()
        this.forget(subscription)
      }
    }
  }

  /** An item of a subscription in this loop: a sink is bound and attached (never sent); anything else is a data frame. */
  emit(subscription: Subscription, value: unknown) {
    if (value instanceof BoundSink) {
      value.bind(subscription.id, subscription.jsonrpc)
      value.attach(this.gate!)
      return
    }
    const result: { type: 'data', data: unknown, id?: string } = { type: 'data', data: value }
    if (isTrackedEnvelope(value)) {
      const [trackedId, data] = value
      result.id = trackedId
      result.data = { id: trackedId, data }
    }
    // Presence patches may be dropped for a reader that is far behind; durable frames never are.
    this.respond({ id: subscription.id, jsonrpc: subscription.jsonrpc, result }, isPresencePatch(value))
  }

  /**
   * A subscription left this loop: `stopped` is sent, unless its generator ended at a hand-off
   * (the send gate owns the subscription from then on, decision 0022).
   */
  ended(subscription: Subscription, completed: boolean) {
    this.forget(subscription)
    if (completed && this.gate?.quietStop(JSON.stringify(subscription.id))) return
    this.respond({ id: subscription.id, jsonrpc: subscription.jsonrpc, result: { type: 'stopped' } })
  }

  private forget(subscription: Subscription) {
    if (this.subscriptions?.get(subscription.id) !== subscription) return
    this.subscriptions.delete(subscription.id)
    if (this.subscriptions.size === 0) this.subscriptions = null
  }

  respondWithError(id: RequestId, jsonrpc: '2.0' | undefined, error: TRPCError, type: CallType, path: string, input: unknown) {
    this.report(error, path, type, input)
    this.respond({ id, jsonrpc, error: this.errorShape(error, type, path, input) })
  }

  report(error: TRPCError, path: string | undefined, type: CallType | 'unknown', input: unknown) {
    try {
      this.protocol.onError({ error, path, type, input, ctx: this.ctx, connection: this })
    }
    catch {
      // onError runs in listeners and promises nothing awaits: it must not take the process down.
    }
  }

  private errorShape(error: TRPCError, type: CallType | 'unknown', path: string | undefined, input: unknown): unknown {
    try {
      return getErrorShape({ config: this.protocol.router._def._config, error, type, path, input, ctx: this.ctx })
    }
    catch (cause) {
      this.report(getTRPCErrorFromUnknown(cause), path, type, input)
      return fallbackErrorShape
    }
  }

  /** Sends an answer through the send gate (dropped once the socket is closing, as tRPC's adapter does). */
  private respond(envelope: object, ephemeral = false) {
    if (this.socket.readyState !== WS_OPEN || !this.gate) return
    let text: string
    try {
      text = JSON.stringify(transformTRPCResponse(this.protocol.router._def._config, envelope as never))
    }
    catch (cause) {
      this.report(getTRPCErrorFromUnknown(cause), undefined, 'unknown', undefined)
      const { id, jsonrpc } = envelope as { id?: RequestId | null, jsonrpc?: '2.0' }
      text = JSON.stringify({ id: id ?? null, jsonrpc, error: fallbackErrorShape })
    }
    this.gate.send(text, ephemeral)
  }

  /** The socket closed: every subscription in this loop is stopped (its generator told), then the handler is told. */
  socketClosed(code: number, reason: Buffer) {
    const subscriptions = this.subscriptions
    this.subscriptions = null
    if (subscriptions) for (const subscription of subscriptions.values()) subscription.stop()
    this.protocol.onClose(this, code, reason)
  }
}
