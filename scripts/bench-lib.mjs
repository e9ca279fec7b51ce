// Pieces shared by the benchmark scripts (bench-api.mjs, bench-phone.mjs, bench-ws.mjs).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createJiti } from 'jiti'
import superjson from 'superjson'

const jiti = createJiti(import.meta.url)

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}

/** tRPC over HTTP (superjson) against `base`, keeping the session cookie it is given, as one browser would. */
export function httpCaller(base) {
  let cookie = ''
  const call = async (type, path, input) => {
    const url = type === 'query'
      ? `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`
      : `${base}/api/trpc/${path}`
    const res = await fetch(url, {
      method: type === 'query' ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: type === 'query' ? undefined : JSON.stringify(superjson.serialize(input)),
    })
    const setCookie = res.headers.get('set-cookie')
    if (setCookie) cookie = setCookie.split(';')[0]
    const body = await res.json()
    if (body.error) throw new Error(`${path}: ${JSON.stringify(body.error.json?.message ?? body.error)}`)
    return superjson.deserialize(body.result.data)
  }
  return { call, cookie: () => cookie }
}

/**
 * The production build on a free loopback port with a fresh embedded database (no demo data), ready
 * to answer; `env` goes on top. The server is stopped and its data removed when the process exits.
 */
export async function startBenchServer(prefix, env = {}) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const dataDir = mkdtempSync(join(tmpdir(), prefix))
  const server = spawn(process.execPath, ['.output/server/index.mjs'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_ORIGIN: base, PGLITE_DIR: join(dataDir, 'db'), SEED_DEMO: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const stop = () => {
    server.kill('SIGTERM')
    rmSync(dataDir, { recursive: true, force: true })
  }
  process.on('exit', stop)
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      if ((await fetch(`${base}/api/trpc/auth.me`)).ok) return { base, stop, pid: server.pid }
    }
    catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not start')
    await new Promise(r => setTimeout(r, 200))
  }
}

/**
 * A throwaway PostgreSQL (`url` names its `postgres` database) and a local redis-server, both on
 * free loopback ports: the tests' own helpers (tests/setup/postgres.ts, redis.ts, loaded with jiti as
 * bench-digest.mjs does), stopped when the bench exits.
 */
export async function startPostgres() {
  const { startPostgres: start } = await jiti.import('../tests/setup/postgres.ts')
  const server = await start()
  // At exit only the synchronous part runs: `pg_ctl stop` (the temp folder stays).
  process.on('exit', () => void server.stop())
  return { url: server.url('postgres'), stop: () => server.stop() }
}

export async function startRedis() {
  const { startRedis: start } = await jiti.import('../tests/setup/redis.ts')
  const server = await start()
  process.on('exit', () => void server.stop())
  return server
}
