import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string
  }
}

const START_TIMEOUT_MS = 60_000

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))))
    })
  })
}

/** Starts the production build on a fresh embedded database; the browser tests talk to it. */
export default async function setup(project: TestProject) {
  const entry = resolve('.output/server/index.mjs')
  if (!existsSync(entry)) {
    throw new Error('tests/e2e: .output/server/index.mjs is missing. Run `npm run build` before the browser tests.')
  }
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const dataDir = mkdtempSync(join(tmpdir(), 'ttp-e2e-'))
  // The embedded database only: an inherited DATABASE_URL/REDIS_URL would point the test at shared services.
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env
  const child = spawn(process.execPath, [entry], {
    env: {
      ...inherited,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_ORIGIN: baseUrl,
      PGLITE_DIR: dataDir,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<number | null>(resolveExit => child.once('exit', code => resolveExit(code)))

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(killer)
    }
    rmSync(dataDir, { recursive: true, force: true })
  }

  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null) {
      await stop()
      throw new Error(`tests/e2e: the server exited with code ${child.exitCode} before answering:\n${output}`)
    }
    try {
      const res = await fetch(`${baseUrl}/api/trpc/auth.me`, { signal: AbortSignal.timeout(2_000) })
      if (res.ok) break
    }
    catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`tests/e2e: the server did not answer ${baseUrl}/api/trpc/auth.me within ${START_TIMEOUT_MS / 1000} s:\n${output}`)
    }
    await new Promise(r => setTimeout(r, 250))
  }

  project.provide('baseUrl', baseUrl)
  return stop
}
