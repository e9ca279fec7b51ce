import { defineNitroPlugin } from 'nitropack/runtime'
import { usePresenceHub } from '../presence/hub'
import { startShutdown, useSocketDrain } from '../realtime/shutdown'
import { useEnv } from '../utils/env'
import { logger } from '../utils/logger'

// Graceful restarts (docs/operations.md "Graceful restarts", docs/decisions/0011-graceful-shutdown.md).
// Plugins run before the node-server entry installs Nitro's own SIGTERM / SIGINT handler, so this
// one runs first: /api/ready turns 503 and the sockets start closing with 1012 before Nitro stops
// listening and waits for in-flight requests (and, as they are marked busy, for the sockets).
export default defineNitroPlugin((nitroApp) => {
  // `nuxt dev` runs the server in a worker (no signals there) and restarts it on edits.
  if (import.meta.dev) return
  const { SHUTDOWN_SPREAD_MS, SHUTDOWN_TIMEOUT_MS } = useEnv()
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info(`${signal} received`)
    void startShutdown({
      drain: useSocketDrain(),
      spreadMs: SHUTDOWN_SPREAD_MS,
      timeoutMs: SHUTDOWN_TIMEOUT_MS,
      flushPresence: () => usePresenceHub().stop(),
      exit: code => process.exit(code),
    })
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  nitroApp.hooks.hook('close', () => {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  })
})
