import { defineNitroPlugin } from 'nitropack/runtime'
import { logRequest } from '../utils/requestLog'

// One log line per HTTP request (server/utils/requestLog.ts, docs/operations.md#logs). WebSocket
// upgrades are not requests here: server/realtime/wsServer.ts logs each socket's open and close.
export default defineNitroPlugin((nitroApp) => {
  nitroApp.hooks.hook('request', logRequest)
})
