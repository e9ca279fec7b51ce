import { defineEventHandler, setHeader, setResponseStatus } from 'h3'
import { Redis } from 'ioredis'
import type { Db } from './db'
import { isShuttingDown } from './lifecycle'
import { logger } from './logger'
import { DATABASE_RETRY_AFTER_SECONDS } from './outage'

/**
 * Readiness (`GET /api/ready`): may a load balancer send this instance traffic? Yes when the
 * database answers `SELECT 1`, every committed migration is recorded as applied, and Redis (when
 * REDIS_URL is set) answers PING, each within a short timeout. Results are kept for `cacheMs`, and
 * concurrent probes share one check, so a balancer probing every few seconds (or many at once)
 * costs at most a couple of tiny queries per second.
 */
export interface ReadinessChecks {
  /** `starting`: the database is still being opened and migrated at start */
  database: 'ok' | 'unreachable' | 'starting'
  /** `pending`: a committed migration is not recorded as applied; `unknown`: not checked (no database) */
  migrations: 'ok' | 'pending' | 'unknown'
  /** only when REDIS_URL is set */
  redis?: 'ok' | 'unreachable'
}

export interface ReadinessResult {
  ready: boolean
  checks: ReadinessChecks
}

export interface ReadinessOptions {
  /** The app database (may still be starting). */
  db: () => Promise<Db>
  /** Names of the committed migrations (prisma/migrations). */
  migrationNames: () => Promise<string[]>
  /** Checked with PING when set. */
  redisUrl?: string
  /** Each check's timeout; default 1000 ms. */
  timeoutMs?: number
  /** How long a result is reused; default 1000 ms. */
  cacheMs?: number
}

export interface Readiness {
  check: () => Promise<ReadinessResult>
  close: () => Promise<void>
}

const TIMED_OUT = Symbol('timed out')

function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Whether the connection is (or within `ms` becomes) ready; the first check after start waits for the handshake. */
function connected(connection: Redis, ms: number): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      connection.off('ready', onReady)
      resolve(false)
    }, ms)
    connection.once('ready', onReady)
  })
}

export function createReadiness(options: ReadinessOptions): Readiness {
  const timeoutMs = options.timeoutMs ?? 1_000
  const cacheMs = options.cacheMs ?? 1_000
  let redis: Redis | undefined
  let closed = false
  /** Once every committed migration was seen applied, it stays so: later checks skip the query. */
  let migrationsApplied = false
  let cached: { at: number, result: Promise<ReadinessResult> } | undefined

  function redisConnection(url: string): Redis {
    if (!redis) {
      // Its own connection: a PING queued behind a busy publisher would say nothing about Redis.
      // No offline queue: while disconnected, PING fails at once instead of waiting for a reconnect.
      redis = new Redis(url, {
        connectionName: `tt-ready-${process.pid}`,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: times => Math.min(200 * times, 2_000),
      })
      // Failures are reported by the check itself; ioredis would otherwise log every reconnect attempt.
      redis.on('error', () => {})
    }
    return redis
  }

  async function checkRedis(url: string): Promise<'ok' | 'unreachable'> {
    const connection = redisConnection(url)
    try {
      if (!(await connected(connection, timeoutMs))) return 'unreachable'
      return await within(connection.ping(), timeoutMs) === 'PONG' ? 'ok' : 'unreachable'
    }
    catch {
      return 'unreachable'
    }
  }

  async function checkDatabase(): Promise<Pick<ReadinessChecks, 'database' | 'migrations'>> {
    let db: Db | typeof TIMED_OUT
    try {
      db = await within(options.db(), timeoutMs)
    }
    catch {
      return { database: 'unreachable', migrations: 'unknown' }
    }
    if (db === TIMED_OUT) return { database: 'starting', migrations: 'unknown' }
    try {
      if (await within(db.$queryRawUnsafe('SELECT 1'), timeoutMs) === TIMED_OUT) return { database: 'unreachable', migrations: 'unknown' }
    }
    catch {
      return { database: 'unreachable', migrations: 'unknown' }
    }
    if (migrationsApplied) return { database: 'ok', migrations: 'ok' }
    try {
      const [names, rows] = await Promise.all([
        options.migrationNames(),
        within(db.$queryRawUnsafe<{ migration_name: string }[]>(
          'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        ), timeoutMs),
      ])
      if (rows === TIMED_OUT) return { database: 'ok', migrations: 'unknown' }
      const applied = new Set(rows.map(r => r.migration_name))
      migrationsApplied = names.every(name => applied.has(name))
      return { database: 'ok', migrations: migrationsApplied ? 'ok' : 'pending' }
    }
    catch (error) {
      // No _prisma_migrations table yet: nothing is applied.
      logger.debug('readiness: reading applied migrations failed', { message: (error as Error).message })
      return { database: 'ok', migrations: 'pending' }
    }
  }

  async function run(): Promise<ReadinessResult> {
    const [database, redisState] = await Promise.all([
      checkDatabase(),
      options.redisUrl ? checkRedis(options.redisUrl) : Promise.resolve(undefined),
    ])
    const checks: ReadinessChecks = { ...database, ...(redisState ? { redis: redisState } : {}) }
    const ready = checks.database === 'ok' && checks.migrations === 'ok' && (checks.redis ?? 'ok') === 'ok'
    return { ready, checks }
  }

  return {
    check() {
      if (closed) return Promise.resolve({ ready: false, checks: { database: 'unreachable', migrations: 'unknown' } })
      const now = Date.now()
      if (!cached || now - cached.at >= cacheMs) {
        const result = run()
        cached = { at: now, result }
        // The clock of the cache starts when the answer is known, so a slow check is not repeated at once.
        void result.then(() => {
          if (cached?.result === result) cached.at = Date.now()
        })
      }
      return cached.result
    },
    async close() {
      closed = true
      redis?.disconnect()
    },
  }
}

/** Seconds a balancer is told to wait before probing an instance that is not ready. */
export const READY_RETRY_AFTER_SECONDS = DATABASE_RETRY_AFTER_SECONDS

/**
 * `GET /api/ready`: 200 `{ status: 'ok', checks }`, or 503 `{ status: 'unavailable', checks }` with
 * Retry-After (503 `{ status: 'shutting down' }` from SIGTERM on). The body names each check's state only: no error messages, hosts or stacks.
 */
export function createReadyHandler(readiness: () => Readiness) {
  return defineEventHandler(async (event) => {
    setHeader(event, 'cache-control', 'no-store')
    // Draining (SIGTERM): not ready whatever the checks say, without running them.
    if (isShuttingDown()) {
      setResponseStatus(event, 503, 'Service Unavailable')
      setHeader(event, 'retry-after', READY_RETRY_AFTER_SECONDS)
      return { status: 'shutting down' }
    }
    const { ready, checks } = await readiness().check()
    if (!ready) {
      setResponseStatus(event, 503, 'Service Unavailable')
      setHeader(event, 'retry-after', READY_RETRY_AFTER_SECONDS)
    }
    return { status: ready ? 'ok' : 'unavailable', checks }
  })
}

let current: Readiness | undefined

/** The process-wide readiness check; `server/plugins/ops.ts` sets it at start. */
export function useReadiness(): Readiness {
  if (!current) throw new Error('Readiness not initialised: server/plugins/ops.ts did not run')
  return current
}

/** Replaces the process-wide readiness check; returns the previous one. */
export function setReadiness(next: Readiness | undefined): Readiness | undefined {
  const previous = current
  current = next
  return previous
}
