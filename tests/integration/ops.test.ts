// Operations endpoints: /api/ready on the real database (and a real Redis), with each dependency
// taken away in turn, and the metrics /api/metrics serves (tRPC call durations, the email outbox).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createApp, createRouter, toNodeListener } from 'h3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { enqueueEmail } from '../../server/email/outbox'
import { createWsContext } from '../../server/realtime/wsContext'
import { SOCKET_CALL_LIMIT } from '../../server/trpc/init'
import { createCaller } from '../../server/trpc/routers/_app'
import { openPostgres, type Database } from '../../server/utils/db'
import { createMetrics, createMetricsHandler, useMetrics } from '../../server/utils/metrics'
import { readMigrationsFromDir } from '../../server/utils/migrate'
import { createReadiness, createReadyHandler, READY_RETRY_AFTER_SECONDS, type Readiness } from '../../server/utils/readiness'
import { callerFor, failure, signUp, taskInput } from '../factories'
import { findPostgresBin, startPostgres, type PostgresServer } from '../setup/postgres'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { createTestDatabase, databaseAvailable, usingPostgres } from '../setup/testDb'

const migrationsDir = join(process.cwd(), 'prisma', 'migrations')
const committedNames = async () => (await readMigrationsFromDir(migrationsDir)).map(m => m.name)

/** Serves handlers on a real h3 server, the way Nitro mounts them. */
async function serve(routes: Record<string, Parameters<ReturnType<typeof createRouter>['get']>[1]>) {
  const router = createRouter()
  for (const [path, handler] of Object.entries(routes)) router.get(path, handler)
  const app = createApp()
  app.use(router)
  const server: Server = createServer(toNodeListener(app))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    get: (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers }),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** GET /api/ready on a fresh readiness check (no cache between probes). */
async function probe(options: Parameters<typeof createReadiness>[0]) {
  const readiness = createReadiness({ cacheMs: 0, timeoutMs: 1_000, ...options })
  const http = await serve({ '/api/ready': createReadyHandler(() => readiness) })
  try {
    const res = await http.get('/api/ready')
    return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() }
  }
  finally {
    await http.close()
    await readiness.close()
  }
}

const LEAKS = /ECONNREFUSED|127\.0\.0\.1|postgres(ql)?:|redis:|stack|at \w+ \(|SELECT/i

describe.runIf(databaseAvailable)('GET /api/ready', () => {
  let db: Database

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.close()
  })

  it('answers 200 with each check ok when the database answers and every migration is applied', async () => {
    const res = await probe({ db: async () => db.prisma, migrationNames: committedNames })
    expect(res.status).toBe(200)
    expect(res.retryAfter).toBeNull()
    expect(JSON.parse(res.text)).toEqual({ status: 'ok', checks: { database: 'ok', migrations: 'ok' } })
  })

  it('answers 503 naming migrations when a committed migration is not applied', async () => {
    const names = async () => [...await committedNames(), '20991231000000_not_yet_applied']
    const res = await probe({ db: async () => db.prisma, migrationNames: names })
    expect(res.status).toBe(503)
    expect(res.retryAfter).toBe(String(READY_RETRY_AFTER_SECONDS))
    expect(JSON.parse(res.text)).toEqual({ status: 'unavailable', checks: { database: 'ok', migrations: 'pending' } })
  })

  it('answers 503 naming the database while it is still starting', async () => {
    const res = await probe({ db: () => new Promise(() => {}), migrationNames: committedNames, timeoutMs: 200 })
    expect(res.status).toBe(503)
    expect(JSON.parse(res.text)).toEqual({ status: 'unavailable', checks: { database: 'starting', migrations: 'unknown' } })
  })

  it('reuses one result for probes within cacheMs, and checks again after', async () => {
    let calls = 0
    const readiness = createReadiness({ db: async () => db.prisma, migrationNames: async () => (calls++, committedNames()), cacheMs: 60_000 })
    try {
      const results = await Promise.all([readiness.check(), readiness.check(), readiness.check()])
      expect(results.every(r => r.ready)).toBe(true)
      await readiness.check()
      expect(calls).toBe(1)
    }
    finally {
      await readiness.close()
    }
  })

  describe.runIf(redisAvailable())('with REDIS_URL', () => {
    let redis: RedisServer | undefined

    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis?.stop()
    })

    it('answers 200 with redis ok while Redis answers, then 503 naming redis once it is gone', async () => {
      const readiness: Readiness = createReadiness({ db: async () => db.prisma, migrationNames: committedNames, redisUrl: redis!.url, cacheMs: 0, timeoutMs: 1_000 })
      const http = await serve({ '/api/ready': createReadyHandler(() => readiness) })
      try {
        const up = await http.get('/api/ready')
        expect(up.status).toBe(200)
        expect(await up.json()).toEqual({ status: 'ok', checks: { database: 'ok', migrations: 'ok', redis: 'ok' } })

        await redis!.stop()
        redis = undefined
        const down = await http.get('/api/ready')
        expect(down.status).toBe(503)
        expect(down.headers.get('retry-after')).toBe(String(READY_RETRY_AFTER_SECONDS))
        const text = await down.text()
        expect(JSON.parse(text)).toEqual({ status: 'unavailable', checks: { database: 'ok', migrations: 'ok', redis: 'unreachable' } })
        expect(text).not.toMatch(LEAKS)
      }
      finally {
        await http.close()
        await readiness.close()
      }
    })
  })
})

// A private server of its own, so that stopping it affects no other test file.
describe.runIf(usingPostgres && findPostgresBin())('GET /api/ready when PostgreSQL stops', () => {
  let pg: PostgresServer | undefined
  let db: Database

  beforeAll(async () => {
    pg = await startPostgres()
    db = await openPostgres(pg.url('postgres'), { max: 2 })
    await db.migrate(await readMigrationsFromDir(migrationsDir))
  })
  afterAll(async () => {
    await db?.close()
    await pg?.stop()
  })

  it('answers 200, then 503 naming the database within the timeout, without the driver\'s message', async () => {
    const readiness = createReadiness({ db: async () => db.prisma, migrationNames: committedNames, cacheMs: 0, timeoutMs: 1_000 })
    const http = await serve({ '/api/ready': createReadyHandler(() => readiness) })
    try {
      expect((await http.get('/api/ready')).status).toBe(200)
      await pg!.stop()
      pg = undefined
      const started = Date.now()
      const down = await http.get('/api/ready')
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(down.status).toBe(503)
      expect(down.headers.get('retry-after')).toBe(String(READY_RETRY_AFTER_SECONDS))
      const text = await down.text()
      expect(JSON.parse(text)).toEqual({ status: 'unavailable', checks: { database: 'unreachable', migrations: 'unknown' } })
      expect(text).not.toMatch(LEAKS)
    }
    finally {
      await http.close()
      await readiness.close()
    }
  })
})

describe.runIf(!usingPostgres)('GET /api/ready when the embedded database is closed', () => {
  it('answers 503 naming the database', async () => {
    const db = await createTestDatabase()
    await db.close()
    const res = await probe({ db: async () => db.prisma, migrationNames: committedNames })
    expect(res.status).toBe(503)
    expect(JSON.parse(res.text)).toEqual({ status: 'unavailable', checks: { database: 'unreachable', migrations: 'unknown' } })
  })
})

/** The value of an unlabelled series, or of the series whose labels include `labels`. */
async function sample(metrics: { registry: { metrics: () => Promise<string> } }, name: string, labels: Record<string, string> = {}) {
  const text = await metrics.registry.metrics()
  for (const line of text.split('\n')) {
    const match = line.match(/^(\w+)(?:\{(.*)\})? (\S+)$/)
    if (!match || match[1] !== name) continue
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3])
  }
  return undefined
}

describe.runIf(databaseAvailable)('metrics', () => {
  let db: Database

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.close()
  })

  it('times tRPC calls by procedure and outcome, and counts the events they publish', async () => {
    const metrics = useMetrics()
    const labels = { procedure: 'task.create', type: 'mutation', transport: 'http', code: 'ok' }
    const before = await sample(metrics, 'tt_trpc_request_duration_seconds_count', labels) ?? 0
    const publishedBefore = (await sample(metrics, 'tt_events_published_total'))!
    const user = await signUp(db)
    const project = await user.caller.project.create({ name: 'Measured' })
    await user.caller.task.create(taskInput(project.id))
    await user.caller.task.create(taskInput(project.id))
    expect(await sample(metrics, 'tt_trpc_request_duration_seconds_count', labels)).toBe(before + 2)
    expect(await sample(metrics, 'tt_trpc_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(before + 2)
    // Events are published on the tick after the commit.
    await vi.waitFor(async () => expect(await sample(metrics, 'tt_events_published_total')).toBeGreaterThanOrEqual(publishedBefore + 3))
  })

  it('labels a refused call with its error code', async () => {
    const metrics = useMetrics()
    const labels = { procedure: 'project.byId', type: 'query', code: 'UNAUTHORIZED' }
    const before = await sample(metrics, 'tt_trpc_request_duration_seconds_count', labels) ?? 0
    const anonymous = await callerFor(db)
    await expect(anonymous.project.byId({ id: 'nope' })).rejects.toThrow()
    expect(await sample(metrics, 'tt_trpc_request_duration_seconds_count', labels)).toBe(before + 1)
  })

  it('labels the code the client gets: a service\'s domain error as its own code, a socket past its call budget as TOO_MANY_REQUESTS', async () => {
    const metrics = useMetrics()
    const owner = await signUp(db)
    const stranger = await signUp(db)
    const project = await owner.caller.project.create({ name: 'Private' })
    const notFound = { procedure: 'project.byId', type: 'query', transport: 'http', code: 'NOT_FOUND' }
    const notFoundBefore = await sample(metrics, 'tt_trpc_request_duration_seconds_count', notFound) ?? 0
    expect((await failure(stranger.caller.project.byId({ id: project.id }))).code).toBe('NOT_FOUND')
    expect(await sample(metrics, 'tt_trpc_request_duration_seconds_count', notFound)).toBe(notFoundBefore + 1)

    const limited = { procedure: 'project.list', type: 'query', transport: 'ws', code: 'TOO_MANY_REQUESTS' }
    const limitedBefore = await sample(metrics, 'tt_trpc_request_duration_seconds_count', limited) ?? 0
    const ctx = await createWsContext({ db: db.prisma, env: { secureCookies: false }, headers: { cookie: `tt_session=${stranger.jar.values.get('tt_session')}` }, ip: '10.8.8.8', connectionParams: null })
    const socket = createCaller(ctx)
    const results = await Promise.allSettled(Array.from({ length: SOCKET_CALL_LIMIT.capacity + 5 }, () => socket.project.list()))
    const refused = results.filter(r => r.status === 'rejected').length
    expect(refused).toBeGreaterThan(0)
    expect(await sample(metrics, 'tt_trpc_request_duration_seconds_count', limited)).toBe(limitedBefore + refused)
  })

  it('counts queued emails on scrape', async () => {
    const metrics = createMetrics({ db: async () => db.prisma, defaultMetrics: false })
    const queuedBefore = (await sample(metrics, 'tt_email_outbox_queued'))!
    for (let i = 0; i < 3; i++) {
      await enqueueEmail(db.prisma, { userId: null, kind: 'test', to: `ops${i}@example.test`, subject: 'Queued', html: '<p>hi</p>', text: 'hi' })
    }
    await db.prisma.emailOutbox.updateMany({ where: { to: 'ops0@example.test' }, data: { status: 'sent' } })
    expect(await sample(metrics, 'tt_email_outbox_queued')).toBe(queuedBefore + 2)
  })

  it('GET /api/metrics: 404 without METRICS_TOKEN, 401 without or with a wrong token, Prometheus text with it', async () => {
    const settings: { token?: string } = {}
    const metrics = createMetrics({ defaultMetrics: true })
    const http = await serve({ '/api/metrics': createMetricsHandler({ token: () => settings.token, registry: () => metrics.registry }) })
    try {
      expect((await http.get('/api/metrics')).status).toBe(404)
      settings.token = 'a-metrics-token-of-32-characters'
      expect((await http.get('/api/metrics')).status).toBe(401)
      const wrong = await http.get('/api/metrics', { authorization: 'Bearer a-metrics-token-of-32-characterS' })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/)
      expect((await http.get('/api/metrics', { authorization: `Basic ${settings.token}` })).status).toBe(401)
      const ok = await http.get('/api/metrics', { authorization: `Bearer ${settings.token}` })
      expect(ok.status).toBe(200)
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      const text = await ok.text()
      for (const name of ['tt_ws_open_sockets', 'tt_ws_refused_total', 'tt_ws_closed_total', 'tt_ws_dropped_frames_total', 'tt_events_published_total', 'tt_fanout_frames_total', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
        expect(text).toContain(`# TYPE ${name} `)
      }
      expect(text).toContain('tt_ws_closed_total{reason="slow"}')
    }
    finally {
      await http.close()
    }
  })
})
