import { defineNitroPlugin } from 'nitropack/runtime'
import { wsServerOptions } from '../realtime/frameGuard'

// Nitro's node server builds crossws's `ws` server from `h3App.websocket` once the plugins have run:
// its `serverOptions` reach `new WebSocketServer(…)`. So `maxPayload` (64 KiB) is enforced by `ws`,
// which closes the socket with 1009 from the frame header, before buffering the payload.
export default defineNitroPlugin((nitroApp) => {
  const options = nitroApp.h3App.options as unknown as { websocket?: { serverOptions?: Record<string, unknown> } }
  options.websocket = { ...options.websocket, serverOptions: { ...options.websocket?.serverOptions, ...wsServerOptions } }
})
