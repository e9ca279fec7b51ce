// Starts a throwaway PostgreSQL server from the Debian binaries on a free loopback port.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Directory with initdb/pg_ctl: PATH first, then Debian's versioned folders. */
export function findPostgresBin(): string | null {
  const fromPath = (process.env.PATH ?? '').split(':').find(dir => existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb')))
  if (fromPath) return fromPath
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return null
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a))
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'pg_ctl'))) return join(base, v, 'bin')
  return null
}

export interface PostgresServer {
  url: (database: string) => string
  stop: () => Promise<void>
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin()
  if (!bin) throw new Error('PostgreSQL binaries not found (apt-get install -y postgresql)')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tt-pg-'))
  chmodSync(dir, 0o777)
  const dataDir = join(dir, 'data')
  // initdb refuses to run as root; run the server as the postgres user then.
  const asRoot = process.getuid?.() === 0
  const run = (cmd: string, args: string[]) => {
    if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' })
    else execFileSync(join(bin, cmd), args, { stdio: 'pipe' })
  }
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'])
  const args = ['-D', dataDir, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200']
  const proc = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', join(bin, 'postgres'), ...args], { stdio: 'ignore' })
    : spawn(join(bin, 'postgres'), args, { stdio: 'ignore' })
  const url = (database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`
  const { default: pg } = await import('pg')
  const deadline = Date.now() + 30_000
  for (;;) {
    const client = new pg.Client({ connectionString: url('postgres') })
    try {
      await client.connect()
      await client.end()
      break
    }
    catch (error) {
      await client.end().catch(() => {})
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`PostgreSQL did not start: ${(error as Error).message}`, { cause: error })
      await new Promise(r => setTimeout(r, 100))
    }
  }
  return {
    url,
    stop: async () => {
      // runuser does not forward signals to the server, so ask pg_ctl to stop it.
      const exited = new Promise(r => proc.exitCode !== null ? r(null) : proc.once('exit', r))
      run('pg_ctl', ['-D', dataDir, 'stop', '-m', 'immediate'])
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
