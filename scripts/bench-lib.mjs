// Pieces shared by the benchmark scripts (bench-api.mjs, bench-phone.mjs, bench-ws.mjs).
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import superjson from 'superjson'

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

/** Directory with initdb/pg_ctl: PATH first, then Debian's versioned folders (as tests/setup/postgres.ts). */
function postgresBin() {
  const fromPath = (process.env.PATH ?? '').split(':').find(dir => existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb')))
  if (fromPath) return fromPath
  const base = '/usr/lib/postgresql'
  const version = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)).find(v => existsSync(join(base, v, 'bin', 'pg_ctl'))) : null
  if (!version) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)')
  return join(base, version, 'bin')
}

/**
 * A throwaway PostgreSQL on a free loopback port (as the postgres user when run as root: initdb
 * refuses root), durability off as in the tests; `url` names a database on it. Stopped at exit.
 */
export async function startPostgres() {
  const bin = postgresBin()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tt-bench-pg-'))
  chmodSync(dir, 0o777)
  const dataDir = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const run = (cmd, args) => asRoot
    ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' })
    : execFileSync(join(bin, cmd), args, { stdio: 'pipe' })
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'])
  const args = ['-D', dataDir, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300']
  const proc = asRoot ? spawn('runuser', ['-u', 'postgres', '--', join(bin, 'postgres'), ...args], { stdio: 'ignore' }) : spawn(join(bin, 'postgres'), args, { stdio: 'ignore' })
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    try {
      run('pg_ctl', ['-D', dataDir, 'stop', '-m', 'immediate'])
    }
    catch {
      proc.kill('SIGKILL')
    }
    rmSync(dir, { recursive: true, force: true })
  }
  process.on('exit', stop)
  const url = database => `postgresql://postgres@127.0.0.1:${port}/${database}`
  const { default: pg } = await import('pg')
  const deadline = Date.now() + 30_000
  for (;;) {
    const client = new pg.Client({ connectionString: url('postgres') })
    try {
      await client.connect()
      await client.query('CREATE DATABASE bench')
      await client.end()
      return { url: url('bench'), stop }
    }
    catch (error) {
      await client.end().catch(() => {})
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`PostgreSQL did not start: ${error.message}`, { cause: error })
      await new Promise(r => setTimeout(r, 100))
    }
  }
}

/** A local redis-server on a free loopback port, no persistence; stopped at exit. */
export async function startRedis() {
  const bin = ['/usr/bin/redis-server', ...(process.env.PATH ?? '').split(':').map(d => join(d, 'redis-server'))].find(p => existsSync(p))
  if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)')
  const port = await freePort()
  const proc = spawn(bin, ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' })
  const stop = () => proc.kill('SIGKILL')
  process.on('exit', stop)
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => socket.end() && resolve(true))
      socket.once('error', () => resolve(false))
    })
    if (ok) return { url: `redis://127.0.0.1:${port}`, stop }
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error('redis-server did not start')
}
