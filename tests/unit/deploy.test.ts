// The container files are checked here because no Docker engine runs in CI: the Dockerfile's build
// stage must run the same build as `npm run build` and the runtime must serve that `.output` the way
// tests/e2e start it; compose.yaml must describe the production shape (docs/deploy/compose.md).
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseEnv } from '../../server/utils/env'

interface Instruction { op: string, args: string }
interface Stage { name: string, from: string, instructions: Instruction[] }

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#'))
  const stages: Stage[] = []
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? []
    if (!op || args === undefined) throw new Error(`unreadable Dockerfile line: ${line}`)
    if (op.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? []
      stages.push({ name: name ?? String(stages.length), from: from!, instructions: [] })
    }
    else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args })
  }
  return stages
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8'))
const build = stages.find(s => s.name === 'build')!
const runtime = stages.at(-1)!
const ops = (stage: Stage, op: string) => stage.instructions.filter(i => i.op === op).map(i => i.args)

describe('Dockerfile', () => {
  it('has a build stage running npm ci and the same build as `npm run build`', () => {
    expect(stages.map(s => s.name)).toContain('build')
    expect(pkg.scripts.build).toBe('nuxt build')
    const runs = ops(build, 'RUN')
    const ci = runs.findIndex(r => /^npm ci\b/.test(r))
    const buildRun = runs.findIndex(r => r === 'npm run build' || /^npx nuxt build\b/.test(r))
    expect(ci).toBeGreaterThanOrEqual(0)
    expect(buildRun).toBeGreaterThan(ci)
    // the whole source is in the context when it builds
    expect(ops(build, 'COPY')).toContain('. .')
  })

  it('has a separate slim Node runtime stage with only .output, from the build stage', () => {
    expect(runtime).not.toBe(build)
    const arg = /ARG NODE_IMAGE=(\S+)/.exec(readFileSync('Dockerfile', 'utf8'))?.[1]
    const image = runtime.from === '${NODE_IMAGE}' ? arg : runtime.from
    expect(image).toMatch(/^node:(20|22|24)[\w.-]*-slim$/)
    const copies = ops(runtime, 'COPY')
    expect(copies).toEqual(['--from=build /app/.output ./.output'])
    expect(ops(runtime, 'RUN').join(' ')).not.toMatch(/npm (ci|install)/)
  })

  it('runs as a non-root user, with a health check on /api/health and node as PID 1', () => {
    const user = ops(runtime, 'USER')
    expect(user).toHaveLength(1)
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/)
    const healthcheck = ops(runtime, 'HEALTHCHECK')
    expect(healthcheck).toHaveLength(1)
    expect(healthcheck[0]).toMatch(/CMD \["node", "-e", ".*\/api\/health/)
    expect(ops(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM'])
    // exec form, so SIGTERM reaches node itself; the same entry as `npm start` and tests/e2e
    const cmd = JSON.parse(ops(runtime, 'CMD')[0]!) as string[]
    expect(cmd.join(' ')).toBe(pkg.scripts.start)
    expect(readFileSync('tests/e2e/appServer.ts', 'utf8')).toContain(`'${cmd[1]}'`)
    expect(ops(runtime, 'ENV').join(' ')).toContain('NODE_ENV=production')
  })

  it('keeps local state and secrets out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map(l => l.trim())
    for (const entry of ['node_modules', '.output', '.data', '.env', '.env.*', '.git']) expect(ignored).toContain(entry)
  })
})

type Service = {
  image?: string
  build?: unknown
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  volumes?: string[]
  ports?: string[]
  restart?: string
}
const compose = parse(readFileSync('compose.yaml', 'utf8'), { merge: true }) as { services: Record<string, Service> }
const services = compose.services

describe('compose.yaml', () => {
  it('runs PostgreSQL, Redis, a one-shot migrate task, two app instances and a proxy', () => {
    expect(Object.keys(services).sort()).toEqual(['app-1', 'app-2', 'migrate', 'postgres', 'proxy', 'redis'])
    expect(services.postgres!.image).toMatch(/^postgres:/)
    expect(services.redis!.image).toMatch(/^redis:/)
  })

  it('migrates once, with the app image, before either app starts', () => {
    const migrate = services.migrate!
    expect(migrate.environment?.MIGRATE_ONLY).toBe('true')
    expect(migrate.restart).toBe('no')
    expect(migrate.build).toEqual(services['app-1']!.build)
    expect(migrate.depends_on?.postgres?.condition).toBe('service_healthy')
    for (const name of ['app-1', 'app-2']) {
      const app = services[name]!
      expect(app.depends_on?.migrate?.condition).toBe('service_completed_successfully')
      expect(app.environment?.MIGRATE_ONLY).toBeUndefined()
      expect(app.environment?.NODE_ENV).toBe('production')
      expect(app.environment?.DATABASE_URL).toMatch(/^postgresql:\/\/.*@postgres:5432\//)
      expect(app.environment?.REDIS_URL).toBe('redis://redis:6379')
      expect(app.environment?.TRUST_PROXY).toBe('true')
      expect(app.ports).toBeUndefined() // reached through the proxy only
    }
  })

  it('takes secrets from the environment / .env, never literal values', () => {
    const app = services['app-1']!.environment!
    expect(app.AUTH_SECRET).toMatch(/^\$\{AUTH_SECRET:\?/)
    expect(app.DATABASE_URL).toContain('${POSTGRES_PASSWORD:?')
    expect(services.postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/)
    expect(app.METRICS_TOKEN).toMatch(/^\$\{METRICS_TOKEN:-\}$/)
  })

  it('puts both instances behind nginx, which passes WebSocket upgrades and does not buffer SSE', () => {
    const proxy = services.proxy!
    expect(proxy.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro')
    expect(proxy.depends_on).toEqual({ 'app-1': { condition: 'service_healthy' }, 'app-2': { condition: 'service_healthy' } })
    const conf = readFileSync('deploy/nginx.conf', 'utf8')
    expect(conf).toMatch(/server app-1:3000/)
    expect(conf).toMatch(/server app-2:3000/)
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/)
    expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/)
    expect(conf).toMatch(/proxy_http_version 1\.1;/)
    // the socket's route (server/routes/api/trpc-ws.ts) gets its own long-lived location
    expect(existsSync('server/routes/api/trpc-ws.ts')).toBe(true)
    expect(conf).toMatch(/location \/api\/trpc-ws \{[^}]*proxy_read_timeout 3600s;/)
    expect(conf).toMatch(/location \/api\/ \{[^}]*proxy_buffering off;/)
    expect(conf).toMatch(/proxy_read_timeout 3600s;/)
  })

  // The same check as .ci/run, with throwaway values for the required secrets.
  it.runIf(existsSync('/usr/bin/docker-compose'))('passes `docker-compose config`', () => {
    const env = { ...process.env, POSTGRES_PASSWORD: 'ci-only', AUTH_SECRET: 'ci-only-ci-only-ci-only-ci-only-ci-only' }
    expect(() => execFileSync('docker-compose', ['-f', 'compose.yaml', 'config', '-q'], { env, stdio: 'pipe' })).not.toThrow()
    const withoutSecrets = { ...process.env, POSTGRES_PASSWORD: '', AUTH_SECRET: '' }
    expect(() => execFileSync('docker-compose', ['-f', 'compose.yaml', 'config', '-q'], { env: withoutSecrets, stdio: 'pipe' })).toThrow(/POSTGRES_PASSWORD|AUTH_SECRET/)
  }, 60_000) // docker-compose (Python) takes seconds to start on a busy machine
})

/** KEY=value lines of an env file (comments and blank lines skipped). */
function readEnvFile(path: string): Record<string, string> {
  const entries = readFileSync(path, 'utf8').split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#'))
  return Object.fromEntries(entries.map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

describe('.env.<stage>.example', () => {
  const secrets = { AUTH_SECRET: 'a'.repeat(44), METRICS_TOKEN: 'b'.repeat(64) }

  it.each(['development', 'staging', 'production'])('%s is a configuration the app accepts once its secrets are filled in', (stage) => {
    const values = readEnvFile(`.env.${stage}.example`)
    expect(values.NODE_ENV).toBe(stage === 'development' ? 'development' : 'production')
    const env = parseEnv({ ...values, ...(stage === 'development' ? {} : secrets) })
    if (stage !== 'development') {
      expect(env.PUBLIC_ORIGIN).toMatch(/^https:\/\//)
      expect(env.secureCookies).toBe(true)
      // the committed examples never carry a secret
      for (const key of ['AUTH_SECRET', 'METRICS_TOKEN', 'POSTGRES_PASSWORD']) expect(values[key]).toBe('')
    }
  })

  it('production with an http origin is refused', () => {
    const values = readEnvFile('.env.production.example')
    expect(() => parseEnv({ ...values, ...secrets, PUBLIC_ORIGIN: 'http://tasks.example.com' })).toThrow(/plain http in production/)
  })
})
