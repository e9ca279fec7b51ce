import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { WebSocket } from 'ws'
import { appRouter } from '../trpc/routers/_app'
import type { Context } from '../trpc/context'
import { usePresenceHub } from '../presence/hub'
import type { Db } from '../utils/db'
import { getAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { logCallError, logger } from '../utils/logger'
import { markConnection } from './connection'
import { markDirectFanout, SendGate } from './fanout'
import { useSocketDrain, type SocketDrain } from './shutdown'
import { useRevocationBus, type RevocationBus } from './revocation'
import { socketMetrics } from './socketMetrics'
import { RECHECK_MS, SocketRegistry, type LiveSocket } from './socketRegistry'
import { useSocketSlots, type SocketSlots } from './socketSlots'
import { TrpcConnection, type SocketErrorInfo, type TrpcSocketProtocol } from './trpcConnection'
import { createWsContext } from './wsContext'

export const WS_PATH = '/api/trpc-ws'

/** Keep-alive: the server pings after 30 s of silence and drops a socket that does not answer within 5 s. */
export const keepAlive = { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 }

/** What a socket's handler reads of its upgrade request (a node `IncomingMessage` has it all). */
export interface UpgradeRequest {
  /** Path and query. */
  url?: string
  headers: IncomingHttpHeaders
  socket?: { remoteAddress?: string } | null
}

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

const NO_HEADERS = Object.freeze({}) as IncomingHttpHeaders

function clientIp(request: UpgradeRequest, trustProxy: boolean): string {
  const header = request.headers['x-forwarded-for']
  const forwarded = trustProxy ? (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim() : undefined
  return forwarded || request.socket?.remoteAddress || 'unknown'
}

export interface TrpcSocketHandlerOptions {
  /** Where contexts get their database (default: the app's). */
  database?: () => Promise<Db>
  /** Live events through the direct fan-out (default); false = every frame from the subscription's generator. */
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

/**
 * Builds the function that serves an opened socket with tRPC's WebSocket protocol: one
 * {@link TrpcConnection} per socket, everything else shared by all of them (decision 0023).
 */
export function createTrpcSocketHandler(options: TrpcSocketHandlerOptions = {}) {
  const direct = options.direct ?? true
  const database = options.database ?? (async () => (await getAppDatabase()).prisma)
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
  const drain = options.drain ?? useSocketDrain()

  const protocol: TrpcSocketProtocol = {
    router: appRouter,
    async createContext(live, connectionParams) {
      // Over its address's cap, the socket is closing (4429): it gets no identity.
      const admitted = await live.admitted
      if (admitted) registry.authenticating(live)
      const cookie = live.cookie
      // Read once (the context is made once per socket): the socket does not keep its cookie.
      live.cookie = undefined
      let ctx: Context = await createWsContext({
        db: await database(),
        env: useEnv(),
        headers: admitted && cookie !== undefined ? { cookie } : NO_HEADERS,
        ip: live.ip,
        connectionParams: admitted ? connectionParams : null,
      }).catch((error: unknown) => {
        live.authPending = false
        throw error
      })
      // Over its user's cap (closed with 4429), or closed meanwhile: nothing runs as the user.
      if (ctx.user && !(await registry.authenticated(live, ctx))) ctx = { ...ctx, user: null, session: null, credential: null }
      else if (!ctx.user) await registry.authenticated(live, ctx)
      markConnection(ctx, live.connId)
      return direct ? markDirectFanout(ctx) : ctx
    },
    onError: onSocketError,
    onClose(live, code, reason) {
      drain.untrack(live.socket)
      registry.closed(live, code, reason)
    },
    onFlood: onFloodClose,
  }

  const serve = (socket: WebSocket, request: UpgradeRequest) => {
    const url = request.url ?? '/'
    const connId = randomUUID()
    const ip = clientIp(request, useEnv().TRUST_PROXY)
    const gate = new SendGate(socket, gateEvents)
    const live = new TrpcConnection(protocol, socket, connId, ip, gate, request.headers.cookie)
    // Counted, capped per address (4429), given WS_AUTH_TIMEOUT_SECONDS to authenticate (4408),
    // kept alive; on close, presence and the log line (onSocketClosed).
    registry.open(live)
    drain.track(socket, false)
    live.listen(new URLSearchParams(url.slice(url.indexOf('?') + 1 || url.length)).get('connectionParams') === '1')
    logger.info('socket opened', { event: 'socket.open', connId, ip })
  }
  return Object.assign(serve, { registry })
}

/** Errors of a socket's calls and of the socket itself, logged as HTTP calls are. */
function onSocketError({ error, path, ctx, connection }: SocketErrorInfo) {
  // A protocol error of the socket itself (a message over maxPayload: `ws` closes with 1009): the client's fault.
  const wsCode = (error.cause as { code?: unknown } | undefined)?.code
  if (typeof wsCode === 'string' && wsCode.startsWith('WS_ERR_')) {
    logger.warn('socket closed on a protocol error', { code: wsCode, connId: connection.connId, ip: connection.ip })
    return
  }
  logCallError({ code: error.code, message: error.message, path, transport: 'ws', userId: ctx?.user?.id ?? connection.userId ?? null, ip: connection.ip, connId: connection.connId })
  if (error.code === 'INTERNAL_SERVER_ERROR') logger.error(`tRPC ws ${path ?? '?'} failed`, { message: error.message, stack: error.stack })
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

/** Serves a socket `ws` upgraded on WS_PATH (see server/plugins/wsServerOptions.ts). */
export function serveUpgradedSocket(socket: WebSocket, request: UpgradeRequest) {
  serveDefault ??= createTrpcSocketHandler()
  serveDefault(socket, request)
}

/**
 * Serves the socket of a crossws peer: the route's `open` hook, used only where the app's own `ws`
 * server was not installed (it takes WS_PATH's sockets before crossws makes a peer of them).
 */
export function serveTrpcSocket(peer: PeerLike) {
  const socket = nodeSocketOf(peer)
  if (!isNodeWebSocket(socket)) {
    throw new Error('/api/trpc-ws needs the node `ws` adapter of crossws (Nitro node presets and nuxt dev)')
  }
  const url = new URL(peer.request.url)
  const cookie = peer.request.headers.get('cookie')
  const forwarded = peer.request.headers.get('x-forwarded-for')
  const headers: IncomingHttpHeaders = {}
  if (cookie !== null) headers.cookie = cookie
  if (forwarded !== null) headers['x-forwarded-for'] = forwarded
  serveUpgradedSocket(socket, { url: `${url.pathname}${url.search}`, headers, socket: { remoteAddress: peer.remoteAddress } })
}
