// The production build's logs (docs/operations.md#logs) and start-up guards: one JSON line per HTTP
// request and per socket open/close, rate-limit hits and auth failures, nothing secret in any of it;
// MIGRATE_ONLY migrates and exits; insecure production settings stop the start with one line.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { openPglite } from '../../server/utils/db'
import { startAppServer, type AppServer } from './appServer'
import { httpClient } from './helpers'

type Line = Record<string, unknown>

/**
 * The JSON lines of the output so far. Anything else fails the test: production writes only JSON,
 * except Nitro's own "Listening on …" line at start.
 */
function jsonLines(output: string): Line[] {
  return output.split('\n').filter(line => line && !/^Listening on https?:\/\/\S+$/.test(line)).map((line) => {
    try {
      return JSON.parse(line) as Line
    }
    catch {
      throw new Error(`not a JSON log line: ${line}`)
    }
  })
}

const PASSWORD = 'correct horse battery staple'
const WRONG_PASSWORD = 'wrong-password-never-logged'

describe('JSON logs of the production build', () => {
  let dataDir: string
  let app: AppServer
  const lines = () => jsonLines(app.output())

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ttp-logs-'))
    app = await startAppServer({ PGLITE_DIR: dataDir, LOG_LEVEL: 'info', REGISTER_LIMIT_PER_IP: '10000' })
  })
  afterAll(async () => {
    await app?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('writes one line per request with method, path, procedures, status, duration, user id and request id', async () => {
    const { client, cookie } = httpClient(app.baseUrl)
    const username = `logs${Date.now().toString(36)}`
    const user = await client.auth.register.mutate({ email: `${username}@example.test`, username, name: 'Log Reader', password: PASSWORD })
    const res = await fetch(`${app.baseUrl}/api/trpc/auth.me?input=${encodeURIComponent(JSON.stringify({ json: null, secret: 'query-input-never-logged' }))}`, {
      headers: { 'cookie': cookie(), 'x-request-id': 'req-from-proxy-1', 'origin': app.baseUrl },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBe('req-from-proxy-1')

    await vi.waitFor(() => expect(lines().find(l => l.requestId === 'req-from-proxy-1')).toBeDefined())
    const me = lines().find(l => l.requestId === 'req-from-proxy-1')!
    expect(me).toMatchObject({
      level: 'info', event: 'http.request', method: 'GET', path: '/api/trpc/auth.me', procedures: ['auth.me'],
      status: 200, userId: user.id, msg: 'GET /api/trpc/auth.me 200',
    })
    expect(me.durationMs).toEqual(expect.any(Number))
    expect(new Date(me.time as string).getTime()).toBeGreaterThan(Date.now() - 60_000)

    const registered = lines().find(l => l.event === 'http.request' && l.path === '/api/trpc/auth.register')!
    expect(registered).toMatchObject({ method: 'POST', status: 200, procedures: ['auth.register'] })
    expect(registered.requestId).toMatch(/^[0-9a-f-]{36}$/) // no proxy id: a fresh one

    // probes are debug-only: not at LOG_LEVEL=info
    await fetch(`${app.baseUrl}/api/health`)
    await fetch(`${app.baseUrl}/api/trpc/auth.me`, { headers: { 'x-request-id': 'after-health' } })
    await vi.waitFor(() => expect(lines().find(l => l.requestId === 'after-health')).toBeDefined())
    expect(lines().filter(l => l.path === '/api/health')).toEqual([])
  })

  it('writes one line when a socket opens and one when it closes, with connection id, user id, code and reason', async () => {
    const { client, cookie } = httpClient(app.baseUrl)
    const username = `sock${Date.now().toString(36)}`
    const user = await client.auth.register.mutate({ email: `${username}@example.test`, username, name: 'Socket User', password: PASSWORD })
    const before = lines().filter(l => l.event === 'socket.open').length
    const socket = new WebSocket(`${app.baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`, { headers: { cookie: cookie(), origin: app.baseUrl } })
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    // a call over the socket: its context (and the user) is settled once it answers
    socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me', input: { json: null } } }))
    await new Promise(resolve => socket.once('message', resolve))
    const closed = new Promise(resolve => socket.once('close', resolve))
    socket.close(4000, 'leaving now')
    await closed

    await vi.waitFor(() => expect(lines().filter(l => l.event === 'socket.close' && l.userId === user.id)).toHaveLength(1))
    const opened = lines().filter(l => l.event === 'socket.open')
    expect(opened.length).toBe(before + 1)
    const close = lines().find(l => l.event === 'socket.close' && l.userId === user.id)!
    expect(close).toMatchObject({ level: 'info', connId: opened.at(-1)!.connId, code: 4000, reason: 'leaving now', ip: '127.0.0.1', msg: 'socket closed 4000' })
    expect(close.connId).toMatch(/^[0-9a-f-]{36}$/)
    expect(close.durationMs).toEqual(expect.any(Number))
    expect(app.output()).not.toContain('tt_session=')
  })

  // last: it spends the address's HTTP call budget
  it('logs auth failures and rate-limit hits, and never a password, cookie, token or input', async () => {
    const { client } = httpClient(app.baseUrl)
    await expect(client.auth.login.mutate({ login: 'nobody-here', password: WRONG_PASSWORD })).rejects.toThrow()
    await vi.waitFor(() => expect(lines().find(l => l.event === 'auth_failure')).toBeDefined())
    expect(lines().find(l => l.event === 'auth_failure')).toMatchObject({
      level: 'warn', procedure: 'auth.login', transport: 'http', userId: null, ip: '127.0.0.1',
    })

    // the HTTP call budget (120 calls, then 30/s per address): a batch far over it is refused
    const batch = Array.from({ length: 20 }, () => 'auth.me').join(',')
    let limited = false
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await fetch(`${app.baseUrl}/api/trpc/${batch}?batch=1&input=${encodeURIComponent('{}')}`)
      limited = res.status === 429 || (await res.text()).includes('TOO_MANY_REQUESTS')
    }
    expect(limited).toBe(true)
    await vi.waitFor(() => expect(lines().find(l => l.event === 'rate_limit')).toBeDefined())
    expect(lines().find(l => l.event === 'rate_limit')).toMatchObject({ level: 'warn', transport: 'http', ip: '127.0.0.1', procedure: 'auth.me' })

    const output = app.output()
    for (const secret of [PASSWORD, WRONG_PASSWORD, 'tt_session=', 'query-input-never-logged']) expect(output).not.toContain(secret)
  })
})

/** Runs the production build to its exit; resolves with the exit code and all output. */
function runBuild(env: Record<string, string>): Promise<{ code: number | null, output: string }> {
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env
  const child = spawn(process.execPath, [resolve('.output/server/index.mjs')], {
    env: { ...inherited, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', SEED_DEMO: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise(resolveExit => child.once('exit', (code) => {
    clearTimeout(killer)
    resolveExit({ code, output })
  }))
}

describe('start-up of the production build', () => {
  it('MIGRATE_ONLY=true applies the migrations and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttp-migrate-only-'))
    try {
      const { code, output } = await runBuild({ PGLITE_DIR: dir, MIGRATE_ONLY: 'true', LOG_LEVEL: 'info', PUBLIC_ORIGIN: 'https://tasks.example.com' })
      expect(code, output).toBe(0)
      const logged = jsonLines(output)
      expect(logged.find(l => String(l.msg).startsWith('applied migrations'))).toBeDefined()
      expect(logged.at(-1)).toMatchObject({ level: 'info', msg: 'MIGRATE_ONLY: migrations applied, exiting' })
      const db = await openPglite({ dir })
      try {
        const rows = await db.prisma.$queryRawUnsafe<{ n: number }[]>('SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL')
        expect(rows[0]!.n).toBeGreaterThan(0)
      }
      finally {
        await db.close()
      }
    }
    finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses an http PUBLIC_ORIGIN in production with one line and exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttp-insecure-'))
    try {
      const { code, output } = await runBuild({ PGLITE_DIR: dir, PUBLIC_ORIGIN: 'http://tasks.example.com' })
      expect(code).toBe(1)
      expect(output.trim().split('\n')).toEqual([
        '[tasktracker] cannot start: Invalid configuration: http://tasks.example.com is plain http in production; use https for PUBLIC_ORIGIN and ALLOWED_ORIGINS, or set ALLOW_INSECURE_ORIGIN=true if TLS ends in front of the app on a network you trust',
      ])
    }
    finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
