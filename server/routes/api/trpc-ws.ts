import { defineWebSocketHandler } from 'h3'
import { serveTrpcSocket } from '../../realtime/wsServer'
import { useEnv } from '../../utils/env'
import { isAllowedUpgradeOrigin } from '../../utils/origin'

/** tRPC over WebSocket (subscriptions, and queries/mutations too): see docs/websocket.md. */
export default defineWebSocketHandler({
  upgrade(request) {
    if (!isAllowedUpgradeOrigin(request.headers, useEnv().allowedOrigins)) {
      return new Response('Cross-site WebSocket refused', { status: 403, statusText: 'Forbidden' })
    }
  },
  open(peer) {
    serveTrpcSocket(peer)
  },
})
