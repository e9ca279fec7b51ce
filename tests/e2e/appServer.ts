// Starts the production build (`node .output/server/index.mjs`) as a child process and waits until it answers.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { freePort } from '../setup/postgres'

const START_TIMEOUT_MS = 120_000

export { freePort }

export interface AppServer {
  baseUrl: string
  port: number
  pid: number
  /** stdout + stderr so far (for failure messages) */
  output: () => string
  /** Settles when the process exits (by itself, `stop()`, or a signal a test sends to `pid`). */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stop: () => Promise<void>
}

/**
 * One instance of the app on a free loopback port, with `env` on top of the inherited environment
 * minus DATABASE_URL and REDIS_URL (pass them to share services; never inherit the developer's).
 * PUBLIC_ORIGIN defaults to the instance's own URL (an https one makes the server send HSTS and
 * Secure cookies, which a browser then keeps only over https).
 */
export async function startAppServer(env: Record<string, string> = {}, options: { entry?: string } = {}): Promise<AppServer> {
  const entry = resolve(options.entry ?? '.output/server/index.mjs')
  if (!existsSync(resolve('.output/server/index.mjs'))) {
    throw new Error('tests/e2e: .output/server/index.mjs is missing. Run `npm run build` before the browser tests.')
  }
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env
  const child = spawn(process.execPath, [entry], {
    env: {
      ...inherited,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_ORIGIN: baseUrl,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      // Every browser test signs its users up from 127.0.0.1; the default (5 per 10 minutes) is for real clients.
      REGISTER_LIMIT_PER_IP: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolveExit => child.once('exit', (code, signal) => resolveExit({ code, signal })))

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(killer)
    }
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
  return { baseUrl, port, pid: child.pid!, output: () => output, exited, stop }
}
