import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { defineNitroPlugin } from 'nitropack/runtime'
import { WebSocketServer, type WebSocket } from 'ws'
import { wsServerOptions } from '../realtime/frameGuard'
import { pathOf, upgradeRefusal, writeRefusal } from '../realtime/upgradeGate'
import { serveUpgradedSocket, WS_PATH } from '../realtime/wsServer'

/**
 * The `ws` server crossws upgrades through. On WS_PATH it checks the upgrade itself (503 while
 * shutting down, 403 for a cross-site Origin: `upgradeRefusal`, on Node's own headers) and, once `ws`
 * has answered 101, hands the socket straight to our tRPC handler, without crossws's peer (which
 * keeps the upgrade request, its headers twice, and three listeners for as long as the socket
 * lives: decision 0023).
 */
class AppWebSocketServer extends WebSocketServer {
  override handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, callback: (client: WebSocket, request: IncomingMessage) => void) {
    if (pathOf(request.url) !== WS_PATH) return super.handleUpgrade(request, socket, head, callback)
    const refusal = upgradeRefusal(request.headers.origin)
    if (refusal) return writeRefusal(socket, refusal)
    super.handleUpgrade(request, socket, head, client => serveUpgradedSocket(client, request))
  }
}

/** crossws's hooks of a WS_PATH upgrade: none (AppWebSocketServer checks and serves it). */
const NO_HOOKS = Object.freeze({})

type WebSocketOptions = Record<string, unknown> & { resolve: (info: { url?: string, request?: { url?: string } }) => unknown }

// Nitro's node server builds crossws's adapter from `h3App.websocket` once the plugins have run: a
// `wss` there is the server it upgrades through. `maxPayload` (64 KiB) is enforced by `ws`, which
// closes the socket with 1009 from the frame header, before buffering the payload.
// crossws asks h3 for the route's hooks of every upgrade (a router lookup, and a `Headers` object
// when the hook reads one); WS_PATH's are answered at once with none.
export default defineNitroPlugin((nitroApp) => {
  const app = nitroApp.h3App as unknown as { options: { websocket?: Record<string, unknown> }, websocket: WebSocketOptions }
  app.options.websocket = { ...app.options.websocket, wss: new AppWebSocketServer({ noServer: true, ...wsServerOptions }) }
  const routed = app.websocket
  const websocket: WebSocketOptions = {
    ...routed,
    resolve: info => pathOf(info.request?.url ?? info.url) === WS_PATH ? NO_HOOKS : routed.resolve(info),
  }
  Object.defineProperty(app, 'websocket', { configurable: true, enumerable: true, get: () => websocket })
})
