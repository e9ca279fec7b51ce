import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { getWSConnectionHandler } from '@trpc/server/adapters/ws'
import { WebSocketServer, type WebSocket } from 'ws'
import { appRouter } from '../trpc/routers/_app'
import { usePresenceHub } from '../presence/hub'
import type { Db } from '../utils/db'
import { getAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { logCallError, logger } from '../utils/logger'
import { markConnection } from './connection'
import { BoundSink, markDirectFanout, SendGate, sinkOf } from './fanout'
import { guardSocket } from './frameGuard'
import { useSocketDrain, type SocketDrain } from './shutdown'
import { useRevocationBus, type RevocationBus } from './revocation'
import { socketMetrics } from './socketMetrics'
import { RECHECK_MS, SocketRegistry, type LiveSocket } from './socketRegistry'
import { useSocketSlots, type SocketSlots } from './socketSlots'
import { createWsContext } from './wsContext'

export const WS_PATH = '/api/trpc-ws'

/** Keep-alive: the server pings after 30 s of silence and drops a socket that does not answer within 5 s. */
export const keepAlive = { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 }

/** What the socket route needs of a crossws peer (typed loosely: h3 and crossws ship their own copies). */
export interface PeerLike {
  websocket: unknown
  request: { url: string, headers: Headers }
  remoteAddress?: string
}

/**
 * crossws's node adapter runs on `ws`. Its `peer.websocket` is a Proxy of that socket (a trap on every
 * property read, thousands per event in a fan-out); `peer._internal.ws` is the socket itself.
 */
function nodeSocketOf(peer: PeerLike): unknown {
  return (peer as { _internal?: { ws?: unknown } })._internal?.ws ?? peer.websocket
}

/** Whether a crossws socket is `ws`'s (it has `on` and `terminate`). */
function isNodeWebSocket(socket: unknown): socket is WebSocket {
  return typeof socket === 'object' && socket !== null
    && typeof (socket as { on?: unknown }).on === 'function'
    && typeof (socket as { terminate?: unknown }).terminate === 'function'
}

/**
 * The upgrade request as tRPC's ws adapter reads it: only `url` (path + query) and the one header a
 * socket's context reads, `cookie` (a plain object, not an IncomingMessage with a socket: tRPC keeps
 * it as long as the socket; the cookie is dropped once the context is made).
 */
function toIncomingMessage(request: PeerLike['request']): IncomingMessage {
  const url = new URL(request.url)
  const cookie = request.headers.get('cookie')
  return { url: `${url.pathname}${url.search}`, headers: cookie === null ? NO_HEADERS : { cookie } } as IncomingMessage
}
const NO_HEADERS = Object.freeze({}) as IncomingMessage['headers']

function clientIp(peer: PeerLike, trustProxy: boolean): string {
  const forwarded = trustProxy ? peer.request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() : undefined
  return forwarded || peer.remoteAddress || 'unknown'
}

export interface TrpcSocketHandlerOptions {
  /** Where contexts get their database (default: the app's). */
  database?: () => Promise<Db>
  /** Live events through the direct fan-out (default); false = tRPC's own loop for every frame. */
  direct?: boolean
  /** Caps and timings (default: WS_MAX_PER_USER, WS_MAX_PER_IP, WS_AUTH_TIMEOUT_SECONDS, {@link RECHECK_MS}). */
  limits?: Partial<{ maxPerUser: number, maxPerIp: number, authTimeoutMs: number, recheckMs: number }>
  /** Where revocations arrive (default: the process's bus, Redis when REDIS_URL is set). */
  revocations?: RevocationBus
  /** Where sockets are counted per user and address (default: the process's, Redis when REDIS_URL is set). */
  slots?: SocketSlots
  /** Closes the sockets with 1012 at shutdown (default: the process's, see server/realtime/shutdown.ts). */
  drain?: SocketDrain
}

/** A frame the send gate may drop when the socket is behind. */
class EphemeralFrame {
  constructor(readonly text: string) {}
}

/** A subscription's `stopped`: not sent when the socket's gate took the subscription over (a handed-off sink). */
class StopFrame {
  constructor(readonly key: string, readonly text: string) {}
}

/**
 * A client message about a subscription the socket's gate owns past tRPC's loop (a handed-off
 * `DirectSink`): `subscription.stop` detaches it and is answered here as tRPC would; a new
 * subscription reusing its id replaces it (and goes on to tRPC). True when answered here.
 */
function answerOwned(gate: SendGate, message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false
  const { id, method } = message as { id?: unknown, method?: unknown }
  if (method !== 'subscription.stop' && method !== 'subscription') return false
  if (typeof id !== 'string' && typeof id !== 'number') return false
  const owned = gate.subscription(JSON.stringify(id))
  if (!owned) return false
  owned.detach()
  if (method === 'subscription') return false
  gate.send(owned.stoppedFrame())
  return true
}

function isPresencePatch(data: unknown): boolean {
  const json = (data as { json?: { kind?: unknown, upsert?: unknown } } | null | undefined)?.json
  return json?.kind === 'patch' && Array.isArray(json.upsert)
}

/** What each socket's frames cost to encode: the default JSON, except that a yielded sink is bound, not sent. */
const encoder = {
  encode(envelope: { id?: string | number | null, jsonrpc?: string, result?: { type?: string, data?: unknown } }): string {
    const sink = envelope.result?.type === 'data' ? sinkOf(envelope.result.data) : null
    if (sink && envelope.id != null) {
      sink.bind(envelope.id, envelope.jsonrpc)
      // Not a frame: the socket's send gate attaches the sink instead of sending it.
      return sink as unknown as string
    }
    const text = JSON.stringify(envelope)
    if (envelope.result?.type === 'stopped' && envelope.id != null) return new StopFrame(JSON.stringify(envelope.id), text) as unknown as string
    // Presence patches may be dropped for a reader that is far behind; durable frames never are.
    return isPresencePatch(envelope.result?.data) ? new EphemeralFrame(text) as unknown as string : text
  },
  decode: (data: string | Buffer) => {
    if (typeof data !== 'string') throw new Error('Binary frames are not supported')
    return JSON.parse(data) as unknown
  },
}

/**
 * Builds the function that serves an opened socket with tRPC. One tRPC connection handler serves
 * every socket (what differs per socket — its IP — travels with its upgrade request).
 */
export function createTrpcSocketHandler(options: TrpcSocketHandlerOptions = {}) {
  const direct = options.direct ?? true
  const database = options.database ?? (async () => (await getAppDatabase()).prisma)
  const peers = new WeakMap<IncomingMessage, LiveSocket>()
  const env = useEnv()
  const registry = new SocketRegistry({
    keepAlive,
    onClose: onSocketClosed,
    maxPerUser: options.limits?.maxPerUser ?? env.WS_MAX_PER_USER,
    maxPerIp: options.limits?.maxPerIp ?? env.WS_MAX_PER_IP,
    authTimeoutMs: options.limits?.authTimeoutMs ?? env.WS_AUTH_TIMEOUT_SECONDS * 1000,
    recheckMs: options.limits?.recheckMs ?? RECHECK_MS,
    revocations: options.revocations ?? useRevocationBus(),
    slots: options.slots ?? useSocketSlots(),
    database,
  })
  // Only its type needs a server: getWSConnectionHandler never touches `wss` (applyWSSHandler does).
  const wss = new WebSocketServer({ noServer: true })
  const drain = options.drain ?? useSocketDrain()
  const handler = getWSConnectionHandler({
    wss,
    router: appRouter,
    // Keep-alive is the registry's one sweeping timer, not a pair of timers per socket.
    keepAlive: { enabled: false },
    experimental_encoder: encoder,
    createContext: async ({ req, info }) => {
      const live = peers.get(req)
      // Over its address's cap, the socket is closing (4429): it gets no identity.
      const admitted = live ? await live.admitted : true
      if (live && admitted) registry.authenticating(live)
      let ctx = await createWsContext({
        db: await database(),
        env: useEnv(),
        headers: admitted ? req.headers : NO_HEADERS,
        ip: live?.ip ?? 'unknown',
        connectionParams: admitted ? info.connectionParams : null,
      }).catch((error: unknown) => {
        if (live) live.authPending = false
        throw error
      }).finally(() => {
        // Read once (the context is made once per socket): the socket does not keep its cookie.
        req.headers = NO_HEADERS
      })
      // Over its user's cap (closed with 4429), or closed meanwhile: nothing runs as the user.
      if (live && ctx.user && !(await registry.authenticated(live, ctx))) ctx = { ...ctx, user: null, session: null, credential: null }
      else if (live && !ctx.user) await registry.authenticated(live, ctx)
      if (live) markConnection(ctx, live.connId)
      return direct ? markDirectFanout(ctx) : ctx
    },
    onError: ({ error, path, ctx, req }) => {
      const live = peers.get(req)
      // A protocol error of the socket itself (a message over maxPayload: `ws` closes with 1009): the client's fault.
      const wsCode = (error.cause as { code?: unknown } | undefined)?.code
      if (typeof wsCode === 'string' && wsCode.startsWith('WS_ERR_')) {
        logger.warn('socket closed on a protocol error', { code: wsCode, connId: live?.connId, ip: live?.ip })
        return
      }
      logCallError({ code: error.code, message: error.message, path, transport: 'ws', userId: ctx?.user?.id ?? live?.userId ?? null, ip: live?.ip, connId: live?.connId })
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error(`tRPC ws ${path ?? '?'} failed`, { message: error.message, stack: error.stack })
    },
  })

  const serve = (peer: PeerLike) => {
    const socket = nodeSocketOf(peer)
    if (!isNodeWebSocket(socket)) {
      throw new Error('/api/trpc-ws needs the node `ws` adapter of crossws (Nitro node presets and nuxt dev)')
    }
    const req = toIncomingMessage(peer.request)
    const connId = randomUUID()
    const ip = clientIp(peer, useEnv().TRUST_PROXY)
    // Counted, capped per address (4429), given WS_AUTH_TIMEOUT_SECONDS to authenticate (4408),
    // kept alive; on close, presence and the log line (onSocketClosed).
    const live = registry.open(socket, connId, ip)
    drain.track(socket)
    peers.set(req, live)
    logger.info('socket opened', { event: 'socket.open', connId, ip })
    const gate = live.gate = new SendGate(socket, gateEvents)
    const send = (data: unknown) => {
      if (data instanceof BoundSink) data.attach(gate)
      else if (data instanceof EphemeralFrame) gate.send(data.text, true)
      else if (data instanceof StopFrame) {
        if (!gate.quietStop(data.key)) gate.send(data.text)
      }
      // A PONG is only a keep-alive answer: dropped first, like presence, for a reader that is behind.
      else gate.send(data as string, data === 'PONG')
    }
    // Non-JSON frames close the socket (1003), floods with 4029, before tRPC sees them (oversized
    // ones never arrive: `ws`'s maxPayload closes with 1009 first, see wsServerOptions).
    const intercept = (message: unknown) => answerOwned(gate, message)
    handler(guardSocket(socket, { send, onFlood: onFloodClose, activity: live, intercept }), req)
  }
  return Object.assign(serve, { registry })
}

/**
 * A socket closed: whatever it showed in presence ends with it (presence is per connection), and
 * the second of its two log lines (docs/operations.md#logs): connection id, user id (once signed
 * in), client address, close code and reason, how long it lived.
 */
function onSocketClosed(live: LiveSocket, code: number, reason: Buffer) {
  void usePresenceHub().connectionClosed(live.connId)
  const fields = {
    event: 'socket.close',
    connId: live.connId,
    userId: live.userId,
    ip: live.ip,
    code,
    reason: reason.toString('utf8').slice(0, 200),
    durationMs: Math.round(performance.now() - live.openedAt),
  }
  logger.info(`socket closed ${code}`, fields)
}

/** What every send gate reports (one object for all sockets). */
const gateEvents = {
  onDrop: () => {
    socketMetrics.droppedFrames++
  },
  onSlow: () => {
    socketMetrics.closedSlow++
  },
}
const onFloodClose = () => {
  socketMetrics.closedFlood++
}

let serveDefault: ReturnType<typeof createTrpcSocketHandler> | undefined

/** Hands an opened socket (crossws peer) to tRPC. */
export function serveTrpcSocket(peer: PeerLike) {
  serveDefault ??= createTrpcSocketHandler()
  serveDefault(peer)
}
