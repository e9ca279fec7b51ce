import { defineWebSocketHandler } from 'h3'
import { serveTrpcSocket } from '../../realtime/wsServer'
import { useEnv } from '../../utils/env'
import { isShuttingDown } from '../../utils/lifecycle'
import { isAllowedUpgradeOrigin } from '../../utils/origin'

/** tRPC over WebSocket (subscriptions, and queries/mutations too): see docs/websocket.md. */
export default defineWebSocketHandler({
  upgrade(request) {
    // Draining (SIGTERM): the client reconnects, and the balancer sends it to another instance.
    if (isShuttingDown()) {
      return new Response('Shutting down', { status: 503, statusText: 'Service Unavailable', headers: { 'retry-after': '1' } })
    }
    if (!isAllowedUpgradeOrigin(request.headers, useEnv().allowedOrigins)) {
      return new Response('Cross-site WebSocket refused', { status: 403, statusText: 'Forbidden' })
    }
  },
  open(peer) {
    serveTrpcSocket(peer)
  },
})
