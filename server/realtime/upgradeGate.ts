import type { Duplex } from 'node:stream'
import { useEnv } from '../utils/env'
import { isShuttingDown } from '../utils/lifecycle'
import { isAllowedUpgradeOrigin } from '../utils/origin'

/** The path of a request URL, relative (`/api/trpc-ws?connectionParams=1`) or absolute (`http://host/api/trpc-ws`). */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return ''
  const scheme = url.indexOf('://')
  const start = scheme === -1 ? 0 : url.indexOf('/', scheme + 3)
  if (start === -1) return '/'
  const end = url.indexOf('?', start)
  return end === -1 ? url.slice(start) : url.slice(start, end)
}

/** An upgrade to WS_PATH that is answered with an HTTP error instead of 101. */
export interface UpgradeRefusal {
  status: number
  statusText: string
  body: string
  headers: Record<string, string>
}

/**
 * Why an upgrade to WS_PATH is refused, or null to go on: 503 while draining (SIGTERM: the client
 * reconnects, and the balancer sends it to another instance), 403 for a cross-site Origin. Checked
 * by the app's `ws` server on Node's own headers (server/plugins/wsServerOptions.ts), and by the
 * route's upgrade hook where that server is not installed (server/routes/api/trpc-ws.ts).
 */
export function upgradeRefusal(origin: string | null | undefined): UpgradeRefusal | null {
  if (isShuttingDown()) {
    return { status: 503, statusText: 'Service Unavailable', body: 'Shutting down', headers: { 'retry-after': '1' } }
  }
  if (!isAllowedUpgradeOrigin(origin, useEnv().allowedOrigins)) {
    return { status: 403, statusText: 'Forbidden', body: 'Cross-site WebSocket refused', headers: {} }
  }
  return null
}

/** Answers a refused upgrade on its raw socket (as `ws` answers a failed handshake) and closes it. */
export function writeRefusal(socket: Duplex, refusal: UpgradeRefusal) {
  const headers = { 'connection': 'close', 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(refusal.body)), ...refusal.headers }
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\r\n')
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${refusal.status} ${refusal.statusText}\r\n${head}\r\n\r\n${refusal.body}`)
}
