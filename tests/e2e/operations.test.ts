// The production build's operations endpoints: liveness, readiness, and Prometheus metrics behind
// METRICS_TOKEN (docs/operations.md).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import WebSocket from 'ws'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { startAppServer, type AppServer } from './appServer'

const TOKEN = 'e2e-metrics-token-0123456789abcdef'

/** The value of the series `name` whose labels include `labels` (undefined when there is none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = line.match(/^(\w+)(?:\{(.*)\})? (\S+)$/)
    if (!match || match[1] !== name) continue
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3])
  }
  return undefined
}

describe('without METRICS_TOKEN (the shared server)', () => {
  const baseUrl = inject('baseUrl')

  it('has no metrics endpoint: 404, even with a bearer token', async () => {
    expect((await fetch(`${baseUrl}/api/metrics`)).status).toBe(404)
    expect((await fetch(`${baseUrl}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404)
  })

  it('still answers /api/health and /api/ready', async () => {
    expect((await fetch(`${baseUrl}/api/health`)).status).toBe(200)
    expect((await fetch(`${baseUrl}/api/ready`)).status).toBe(200)
  })
})

describe('with METRICS_TOKEN', () => {
  let dataDir: string
  let redis: RedisServer | undefined
  let app: AppServer

  const scrape = async () => {
    const res = await fetch(`${app.baseUrl}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(200)
    return res.text()
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ttp-ops-'))
    if (redisAvailable()) redis = await startRedis()
    app = await startAppServer({ PGLITE_DIR: dataDir, METRICS_TOKEN: TOKEN, ...(redis ? { REDIS_URL: redis.url } : {}) })
  })
  afterAll(async () => {
    await app?.stop()
    await redis?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('GET /api/health answers 200 { status: ok } without caching', async () => {
    const res = await fetch(`${app.baseUrl}/api/health`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('GET /api/ready answers 200 with every check ok (the bundled migrations are all applied)', async () => {
    const res = await fetch(`${app.baseUrl}/api/ready`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'ok', migrations: 'ok', ...(redis ? { redis: 'ok' } : {}) } })
  })

  it('GET /api/metrics refuses a missing or wrong token with 401', async () => {
    const missing = await fetch(`${app.baseUrl}/api/metrics`)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(await missing.text()).not.toContain(TOKEN)
    expect((await fetch(`${app.baseUrl}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401)
    expect((await fetch(`${app.baseUrl}/api/metrics`, { headers: { authorization: TOKEN } })).status).toBe(401)
  })

  it('GET /api/metrics with the token serves Prometheus text: sockets, Node, and the duration of a tRPC call', async () => {
    const labels = { procedure: 'auth.me', type: 'query', transport: 'http', code: 'ok' }
    const before = sample(await scrape(), 'tt_trpc_request_duration_seconds_count', labels) ?? 0
    expect((await fetch(`${app.baseUrl}/api/trpc/auth.me`)).status).toBe(200)

    const res = await fetch(`${app.baseUrl}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(sample(text, 'tt_trpc_request_duration_seconds_count', labels)).toBe(before + 1)
    expect(sample(text, 'tt_trpc_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(before + 1)
    expect(sample(text, 'tt_ws_open_sockets')).toBe(0)
    for (const name of ['tt_ws_opened_total', 'tt_ws_dropped_frames_total', 'tt_events_published_total', 'tt_fanout_frames_total', 'tt_email_outbox_queued', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(sample(text, name), name).toBeTypeOf('number')
    }
  })

  it('tt_ws_open_sockets follows the sockets open on the instance', async () => {
    const socket = new WebSocket(`${app.baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`)
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    await vi.waitFor(async () => expect(sample(await scrape(), 'tt_ws_open_sockets')).toBe(1))
    socket.close()
    await vi.waitFor(async () => expect(sample(await scrape(), 'tt_ws_open_sockets')).toBe(0))
  })
})
