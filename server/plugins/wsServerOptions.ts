import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { defineNitroPlugin } from 'nitropack/runtime'
import { WebSocketServer, type WebSocket } from 'ws'
import { wsServerOptions } from '../realtime/frameGuard'
import { serveUpgradedSocket, WS_PATH } from '../realtime/wsServer'

/** The path of an upgrade request's URL (`/api/trpc-ws?connectionParams=1` → `/api/trpc-ws`). */
function pathOf(url: string | undefined): string {
  const end = url?.indexOf('?') ?? -1
  return url === undefined ? '' : end === -1 ? url : url.slice(0, end)
}

/**
 * The `ws` server crossws upgrades through. crossws still runs the route's `upgrade` hook first (the
 * Origin check, 503 while shutting down); once `ws` has answered 101 on WS_PATH the socket goes
 * straight to our tRPC handler, without crossws's peer (which keeps the upgrade request, its
 * headers twice, and three listeners for as long as the socket lives: decision 0023).
 */
class AppWebSocketServer extends WebSocketServer {
  override handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, callback: (client: WebSocket, request: IncomingMessage) => void) {
    if (pathOf(request.url) !== WS_PATH) return super.handleUpgrade(request, socket, head, callback)
    super.handleUpgrade(request, socket, head, client => serveUpgradedSocket(client, request))
  }
}

// Nitro's node server builds crossws's adapter from `h3App.websocket` once the plugins have run: a
// `wss` there is the server it upgrades through. `maxPayload` (64 KiB) is enforced by `ws`, which
// closes the socket with 1009 from the frame header, before buffering the payload.
export default defineNitroPlugin((nitroApp) => {
  const options = nitroApp.h3App.options as unknown as { websocket?: Record<string, unknown> }
  options.websocket = { ...options.websocket, wss: new AppWebSocketServer({ noServer: true, ...wsServerOptions }) }
})
