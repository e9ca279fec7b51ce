import { afterEach, describe, expect, it } from 'vitest'
import { createLogger, logCallError, logger, REDACTED, setLogger, type LoggerOptions } from '../../server/utils/logger'

function capture(options: Omit<LoggerOptions, 'destination'>) {
  const lines: string[] = []
  const log = createLogger({ ...options, destination: { write: (line: string) => void lines.push(line) } })
  return { log, lines, json: () => lines.map(l => JSON.parse(l) as Record<string, unknown>) }
}

let previous: ReturnType<typeof setLogger>
afterEach(() => {
  setLogger(previous)
})

describe('createLogger (json)', () => {
  it('writes one JSON object per line with time, level name, message and fields', () => {
    const { log, lines, json } = capture({ level: 'info', format: 'json' })
    log.info({ event: 'http.request', status: 200 }, 'GET /api/health')
    expect(lines).toHaveLength(1)
    expect(lines[0]!.endsWith('\n')).toBe(true)
    expect(lines[0]!.trimEnd()).not.toContain('\n')
    const [line] = json()
    expect(line).toMatchObject({ level: 'info', msg: 'GET /api/health', event: 'http.request', status: 200, pid: process.pid })
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time)
  })

  it('never writes passwords, tokens, cookies or what users wrote, at the top level or one object down', () => {
    const { log, lines, json } = capture({ level: 'debug', format: 'json' })
    log.warn({
      password: 'hunter2-secret',
      token: 'tt_live_token_value',
      ticket: 'eyJhbGciOi.jwt.ticket',
      input: { title: 'a private task title' },
      headers: { 'cookie': 'tt_session=session-cookie-value', 'authorization': 'Bearer bearer-value', 'set-cookie': 'tt_device=device-value', 'user-agent': 'vitest' },
      call: { password: 'nested-password', description: 'a private description', comment: 'a private comment' },
      userId: 'user-1',
    }, 'a line')
    const raw = lines.join('')
    for (const secret of ['hunter2-secret', 'tt_live_token_value', 'jwt.ticket', 'private task title', 'session-cookie-value', 'bearer-value', 'device-value', 'nested-password', 'private description', 'private comment']) {
      expect(raw).not.toContain(secret)
    }
    const [line] = json()
    expect(line).toMatchObject({
      password: REDACTED, token: REDACTED, ticket: REDACTED, input: REDACTED, userId: 'user-1',
      headers: { 'cookie': REDACTED, 'authorization': REDACTED, 'set-cookie': REDACTED, 'user-agent': 'vitest' },
      call: { password: REDACTED, description: REDACTED, comment: REDACTED },
    })
  })

  it('respects the level, and silent writes nothing', () => {
    const warnOnly = capture({ level: 'warn', format: 'json' })
    warnOnly.log.debug('d')
    warnOnly.log.info('i')
    warnOnly.log.warn('w')
    warnOnly.log.error('e')
    expect(warnOnly.json().map(l => l.level)).toEqual(['warn', 'error'])
    const silent = capture({ level: 'silent', format: 'json' })
    silent.log.error('nothing')
    expect(silent.lines).toEqual([])
  })
})

describe('createLogger (pretty)', () => {
  it('writes readable lines, redacted the same way', () => {
    const { log, lines } = capture({ level: 'info', format: 'pretty' })
    log.info('database ready (PostgreSQL)')
    log.warn({ projectId: 'p1', password: 'hunter2' }, 'something odd')
    log.debug('hidden')
    expect(lines).toEqual([
      '[tasktracker] info: database ready (PostgreSQL)\n',
      `[tasktracker] warn: something odd {"projectId":"p1","password":"${REDACTED}"}\n`,
    ])
  })
})

describe('logger and logCallError', () => {
  it('keeps the logger.info(message, fields) API on the process logger', () => {
    const { log, json } = capture({ level: 'debug', format: 'json' })
    previous = setLogger(log)
    logger.info('hello', { a: 1 })
    logger.error('plain')
    expect(json()).toMatchObject([{ level: 'info', msg: 'hello', a: 1 }, { level: 'error', msg: 'plain' }])
  })

  it('logs rate-limit hits and auth failures with who and where, and nothing for other codes', () => {
    const { log, json } = capture({ level: 'info', format: 'json' })
    previous = setLogger(log)
    logCallError({ code: 'TOO_MANY_REQUESTS', message: 'Too many requests, retry in 3 s', path: 'task.create', transport: 'http', userId: 'u1', ip: '10.0.0.7' })
    logCallError({ code: 'UNAUTHORIZED', message: 'Wrong email, username or password', path: 'auth.signIn', transport: 'ws', userId: null, ip: '10.0.0.8', connId: 'c1' })
    logCallError({ code: 'BAD_REQUEST', message: 'invalid', path: 'task.create', transport: 'http' })
    expect(json()).toMatchObject([
      { level: 'warn', event: 'rate_limit', msg: 'rate limit hit: task.create', procedure: 'task.create', transport: 'http', userId: 'u1', ip: '10.0.0.7', reason: 'Too many requests, retry in 3 s' },
      { level: 'warn', event: 'auth_failure', msg: 'auth failure: auth.signIn', procedure: 'auth.signIn', transport: 'ws', userId: null, connId: 'c1' },
    ])
  })
})
