// Starts a throwaway redis-server (no persistence) on a free loopback port, for the multi-instance tests.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { freePort } from './postgres'

const MISSING = 'install redis-server (apt-get install -y redis-server) to run the Redis tests'

/** The redis-server binary: PATH first, then Debian's location. */
export function findRedisServer(): string | null {
  const fromPath = (process.env.PATH ?? '').split(':').map(dir => join(dir, 'redis-server')).find(p => existsSync(p))
  if (fromPath) return fromPath
  return existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null
}

let warned = false
/**
 * Whether the Redis tests can run: true with redis-server installed; in CI a missing binary is an
 * error; elsewhere false, after one line saying how to enable them.
 */
export function redisAvailable(): boolean {
  if (findRedisServer()) return true
  if (process.env.CI) throw new Error(`redis-server is missing in CI: ${MISSING}`)
  if (!warned) console.warn(`[tests] skipping the Redis tests: ${MISSING}`)
  warned = true
  return false
}

export interface RedisServer {
  url: string
  port: number
  stop: () => Promise<void>
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', data => done(data.toString().startsWith('+PONG')))
  })
}

export async function startRedis(): Promise<RedisServer> {
  const bin = findRedisServer()
  if (!bin) throw new Error(MISSING)
  const port = await freePort()
  const proc = spawn(bin, ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>(resolve => proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve()))
  const deadline = Date.now() + 20_000
  while (!(await ping(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`redis-server did not start on port ${port}:\n${output}`)
    }
    await new Promise(r => setTimeout(r, 50))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM')
        const killer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
        await exited
        clearTimeout(killer)
      }
    },
  }
}
