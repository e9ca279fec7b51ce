import { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import { getWSConnectionHandler } from '@trpc/server/adapters/ws'
import { WebSocketServer, type WebSocket } from 'ws'
import { appRouter } from '../trpc/routers/_app'
import { getAppDatabase } from '../utils/database'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'
import { guardSocket } from './frameGuard'
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

/** crossws's node adapter runs on `ws`; its `peer.websocket` is (a proxy of) that `ws` socket. */
function isNodeWebSocket(socket: unknown): socket is WebSocket {
  return typeof socket === 'object' && socket !== null
    && typeof (socket as { on?: unknown }).on === 'function'
    && typeof (socket as { terminate?: unknown }).terminate === 'function'
}

/** The upgrade request as tRPC's ws adapter reads it: `url` (path + query) and node-style `headers`. */
function toIncomingMessage(request: PeerLike['request']): IncomingMessage {
  const req = new IncomingMessage(new Socket())
  const url = new URL(request.url)
  req.url = `${url.pathname}${url.search}`
  req.headers = Object.fromEntries(request.headers)
  return req
}

function clientIp(peer: PeerLike, trustProxy: boolean): string {
  const forwarded = trustProxy ? peer.request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() : undefined
  return forwarded || peer.remoteAddress || 'unknown'
}

// Only its type needs a server: getWSConnectionHandler never touches `wss` (applyWSSHandler does).
let typeOnlyServer: WebSocketServer | undefined

/** Hands an opened socket to tRPC: one connection handler per socket, authenticated once. */
export function serveTrpcSocket(peer: PeerLike) {
  const socket = peer.websocket
  if (!isNodeWebSocket(socket)) {
    throw new Error('/api/trpc-ws needs the node `ws` adapter of crossws (Nitro node presets and nuxt dev)')
  }
  const env = useEnv()
  const ip = clientIp(peer, env.TRUST_PROXY)
  typeOnlyServer ??= new WebSocketServer({ noServer: true })
  const handler = getWSConnectionHandler({
    wss: typeOnlyServer,
    router: appRouter,
    keepAlive,
    createContext: async ({ req, info }) => createWsContext({
      db: (await getAppDatabase()).prisma,
      env,
      headers: req.headers,
      ip,
      connectionParams: info.connectionParams,
    }),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error(`tRPC ws ${path ?? '?'} failed`, { message: error.message, stack: error.stack })
    },
  })
  // Oversized or non-JSON frames close the socket (1009 / 1003) before tRPC sees them.
  handler(guardSocket(socket), toIncomingMessage(peer.request))
}
