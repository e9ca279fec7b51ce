import { createHash, timingSafeEqual } from 'node:crypto'
import { createError, defineEventHandler, getHeader, setHeader } from 'h3'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { pushCounters } from '../push/pushMetrics'
import { usePushSender } from '../push/sender'
import { readEventMetrics } from '../realtime/eventMetrics'
import { fanout } from '../realtime/fanout'
import { readSocketMetrics, type SocketMetrics } from '../realtime/socketMetrics'
import type { Db } from './db'
import { getAppDatabase } from './database'
import { logger } from './logger'

/**
 * The app's Prometheus metrics (docs/operations.md), in one registry of its own (not prom-client's
 * global one), so tests read exactly what /api/metrics serves.
 *
 * Hot paths (socket accept/close, publish, fan-out) only bump plain numbers in socketMetrics.ts and
 * eventMetrics.ts; the counters here copy them when scraped. tRPC call durations are observed by a
 * middleware (server/trpc/init.ts) labelled by procedure path, which tRPC only passes for
 * procedures that exist, so a client cannot create series.
 */
export interface AppMetrics {
  registry: Registry
  /** seconds per tRPC call, by procedure, type, transport and outcome */
  callDuration: Histogram<'procedure' | 'type' | 'transport' | 'code'>
  /** subscriptions started, by procedure */
  subscriptionsStarted: Counter<'procedure'>
}

export interface MetricsOptions {
  /** The database the email outbox gauge counts in (on scrape). */
  db?: () => Promise<Db>
  /** Node's default metrics (event loop lag, heap, GC, CPU); default true. */
  defaultMetrics?: boolean
}

/** How long a scrape waits for the outbox count before leaving the gauge as it was. */
const OUTBOX_COUNT_TIMEOUT_MS = 2_000

/** A counter whose value is read from a plain number when scraped. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number) {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset()
      this.inc(read())
    },
  })
}

/** A counter with one label whose values are read from plain numbers when scraped. */
function mirroredLabelledCounter<L extends string>(registry: Registry, name: string, help: string, label: L, read: () => Record<string, number>) {
  return new Counter<L>({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset()
      for (const [value, count] of Object.entries(read())) this.inc({ [label]: value } as Record<L, string>, count)
    },
  })
}

export function createMetrics(options: MetricsOptions = {}): AppMetrics {
  const registry = new Registry()
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry })

  // One copy of the socket counters per scrape, shared by the metrics below.
  let sockets: SocketMetrics = readSocketMetrics()
  new Gauge({
    name: 'tt_ws_open_sockets',
    help: 'WebSockets open on this instance',
    registers: [registry],
    collect() {
      sockets = readSocketMetrics()
      this.set(sockets.open)
    },
  })
  mirroredCounter(registry, 'tt_ws_opened_total', 'WebSockets accepted since start', () => sockets.opened)
  mirroredLabelledCounter(registry, 'tt_ws_refused_total', 'WebSockets refused (close 4429) because the user or the address had too many open', 'reason', () => ({
    per_user: sockets.refusedPerUser,
    per_ip: sockets.refusedPerIp,
  }))
  mirroredLabelledCounter(registry, 'tt_ws_closed_total', 'WebSockets closed by the server, by reason (auth_timeout 4408, revoked 4401, flood 4029, slow 4008)', 'reason', () => ({
    auth_timeout: sockets.closedAuthTimeout,
    revoked: sockets.closedRevoked,
    flood: sockets.closedFlood,
    slow: sockets.closedSlow,
  }))
  mirroredCounter(registry, 'tt_ws_dropped_frames_total', 'Ephemeral frames (presence, PONG) dropped for sockets over their soft send bound', () => sockets.droppedFrames)

  new Gauge({
    name: 'tt_ws_project_streams',
    help: 'Caught-up project.onEvent subscriptions in the direct fan-out on this instance',
    registers: [registry],
    collect() {
      this.set(fanout.totals().sinks)
    },
  })
  new Gauge({
    name: 'tt_ws_live_projects',
    help: 'Projects with at least one caught-up subscription on this instance',
    registers: [registry],
    collect() {
      this.set(fanout.totals().projects)
    },
  })
  const subscriptionsStarted = new Counter({
    name: 'tt_trpc_subscriptions_started_total',
    help: 'Subscriptions started, by procedure',
    labelNames: ['procedure'] as const,
    registers: [registry],
  })

  mirroredCounter(registry, 'tt_events_published_total', 'Committed project events this instance published on the bus', () => readEventMetrics().published)
  mirroredCounter(registry, 'tt_fanout_events_total', 'Events the bus delivered to projects with caught-up sockets on this instance', () => readEventMetrics().fannedOut)
  mirroredCounter(registry, 'tt_fanout_frames_total', 'Event frames the direct fan-out wrote to sockets on this instance', () => readEventMetrics().framesWritten)

  new Gauge({
    name: 'tt_push_queue_depth',
    help: 'Web Push messages waiting (retries included) or in flight on this instance',
    registers: [registry],
    collect() {
      this.set(usePushSender()?.depth() ?? 0)
    },
  })
  mirroredLabelledCounter(registry, 'tt_push_messages_total', 'Web Push messages by outcome: sent (2xx), failed (given up), gone (404/410, subscription deleted), retried (429, 5xx, timeout)', 'outcome', () => ({
    sent: pushCounters.sent,
    failed: pushCounters.failed,
    gone: pushCounters.gone,
    retried: pushCounters.retried,
  }))

  const callDuration = new Histogram({
    name: 'tt_trpc_request_duration_seconds',
    help: 'Duration of tRPC queries and mutations (HTTP and WebSocket), by procedure and outcome (ok or the tRPC error code)',
    labelNames: ['procedure', 'type', 'transport', 'code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })

  const db = options.db
  if (db) {
    new Gauge({
      name: 'tt_email_outbox_queued',
      help: 'Emails queued in the outbox (EmailOutbox status queued), counted on scrape',
      registers: [registry],
      async collect() {
        try {
          this.set(await withTimeout(db().then(client => client.emailOutbox.count({ where: { status: 'queued' } })), OUTBOX_COUNT_TIMEOUT_MS))
        }
        catch (error) {
          // A scrape still answers when the database does not; /api/ready says why.
          logger.debug('metrics: counting the email outbox failed', { message: (error as Error).message })
        }
      },
    })
  }

  return { registry, callDuration, subscriptionsStarted }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

let current: AppMetrics | undefined

/** The process-wide metrics (what /api/metrics serves), created on first use; the outbox gauge counts in the app database. */
export function useMetrics(): AppMetrics {
  current ??= createMetrics({ db: async () => (await getAppDatabase()).prisma })
  return current
}

/** Records one tRPC call (called by the timing middleware for every call that reached a procedure). */
export function observeCall(procedure: string, type: string, transport: 'http' | 'ws', code: string, seconds: number) {
  const metrics = useMetrics()
  if (type === 'subscription') metrics.subscriptionsStarted.inc({ procedure })
  else metrics.callDuration.observe({ procedure, type, transport, code }, seconds)
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Compares a presented token with the expected one in time that does not depend on where they differ. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected))
}

export interface MetricsHandlerOptions {
  /** METRICS_TOKEN; unset = the endpoint does not exist (404). */
  token: () => string | undefined
  registry: () => Registry
}

/** `GET /api/metrics`: Prometheus text, for a scraper presenting `Authorization: Bearer <METRICS_TOKEN>`. */
export function createMetricsHandler(options: MetricsHandlerOptions) {
  return defineEventHandler(async (event) => {
    const token = options.token()
    if (!token) throw createError({ statusCode: 404, statusMessage: 'Not Found' })
    const presented = getHeader(event, 'authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
    if (!presented || !tokenMatches(presented, token)) {
      setHeader(event, 'www-authenticate', 'Bearer realm="metrics"')
      throw createError({ statusCode: 401, statusMessage: 'Unauthorized', message: 'Send Authorization: Bearer <METRICS_TOKEN>' })
    }
    const registry = options.registry()
    setHeader(event, 'content-type', registry.contentType)
    setHeader(event, 'cache-control', 'no-store')
    return registry.metrics()
  })
}
