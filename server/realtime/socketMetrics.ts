/**
 * Counters of this instance's WebSockets, for a metrics endpoint to read (plain numbers, no
 * allocation on the hot path). `open` is a gauge; everything else only grows.
 */
export const socketMetrics = {
  /** sockets open now */
  open: 0,
  /** sockets accepted since start */
  opened: 0,
  /** refused because the user already had WS_MAX_PER_USER sockets (close 4429) */
  refusedPerUser: 0,
  /** refused because the address already had WS_MAX_PER_IP sockets (close 4429) */
  refusedPerIp: 0,
  /** closed for not authenticating within WS_AUTH_TIMEOUT_SECONDS (close 4408) */
  closedAuthTimeout: 0,
  /** closed because their session or token was revoked, expired or ended (close 4401) */
  closedRevoked: 0,
  /** closed for sending more messages than the per-socket rate allows (close 4029) */
  closedFlood: 0,
  /** closed because their send buffer stayed over its bound (close 4008) */
  closedSlow: 0,
  /** ephemeral frames (presence, PONG) dropped for a socket over its soft send bound */
  droppedFrames: 0,
}

export type SocketMetrics = typeof socketMetrics

/** A copy of the counters (a metrics endpoint, tests). */
export function readSocketMetrics(): SocketMetrics {
  return { ...socketMetrics }
}
