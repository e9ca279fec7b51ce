/**
 * Whether this process is shutting down (SIGTERM received, see server/realtime/shutdown.ts). From
 * then on `/api/ready` answers 503 and new WebSocket upgrades are refused, so a balancer sends the
 * next requests and reconnects to another instance.
 */
let shuttingDown = false

export function isShuttingDown(): boolean {
  return shuttingDown
}

/** Set once, when the shutdown starts; `false` only for tests that reuse the process. */
export function setShuttingDown(value = true) {
  shuttingDown = value
}
