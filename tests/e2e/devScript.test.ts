// `npm run dev` (scripts/dev.mjs): a stop signal to the npm process must stop the forked dev server
// too, leaving its port free. Slow (a full `nuxt dev` start), so one start covers it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { freePort } from './appServer'

/** True when nothing holds `port` on 127.0.0.1 any more. */
function portFree(port: number) {
  return new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

describe('npm run dev', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ttp-dev-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('serves tRPC over the WebSocket, and stops the whole dev server on SIGTERM to npm, freeing the port', async () => {
    const port = await freePort()
    const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env
    const npm = spawn('npm', ['run', 'dev', '--', '--port', String(port), '--host', '127.0.0.1'], {
      env: { ...inherited, PGLITE_DIR: dataDir, SEED_DEMO: 'false', PORT: String(port), NUXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>(resolve => npm.once('exit', code => resolve(code)))
    try {
      await expect.poll(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/login`).catch(() => null)
        return res?.status ?? output.slice(-2_000)
      }, { timeout: 170_000, interval: 500 }).toBe(200)
      expect(await portFree(port)).toBe(false)

      // The socket route works under `nuxt dev` too (its upgrades go through the app's own `ws` server).
      const socket = new WebSocket(`ws://127.0.0.1:${port}/api/trpc-ws`)
      await once(socket, 'open')
      socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me', input: { json: null } } }))
      const [frame] = await once(socket, 'message') as [Buffer]
      expect(JSON.parse(frame.toString())).toEqual({ id: 1, result: { type: 'data', data: { json: null } } })
      socket.close()

      npm.kill('SIGTERM')
      await exited
      expect(await portFree(port)).toBe(true)
    }
    finally {
      if (npm.exitCode === null) npm.kill('SIGKILL')
    }
  }, 240_000)
})
