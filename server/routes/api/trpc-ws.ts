import { defineWebSocketHandler } from 'h3'
import { serveTrpcSocket } from '../../realtime/wsServer'
import { upgradeRefusal } from '../../realtime/upgradeGate'

/**
 * tRPC over WebSocket (subscriptions, and queries/mutations too): see docs/websocket.md. Where the
 * app's own `ws` server is installed (server/plugins/wsServerOptions.ts: the production server) it
 * checks and serves these upgrades itself and crossws never calls these hooks; they serve the rest
 * (`nuxt dev`).
 */
export default defineWebSocketHandler({
  upgrade(request) {
    const refusal = upgradeRefusal(request.headers.get('origin'))
    if (refusal) return new Response(refusal.body, { status: refusal.status, statusText: refusal.statusText, headers: refusal.headers })
  },
  open(peer) {
    serveTrpcSocket(peer)
  },
})
