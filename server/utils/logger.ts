import { hostname } from 'node:os'
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino'
import { useEnv, type Env } from './env'

type Level = 'debug' | 'info' | 'warn' | 'error'

/**
 * Field names whose values never reach a log line, at the top level or one object down
 * (`{ input: … }`, `{ headers: { cookie: … } }`): credentials, and what users wrote.
 */
export const REDACTED_KEYS = [
  'password', 'currentPassword', 'newPassword', 'token', 'ticket', 'secret', 'authorization', 'cookie',
  'cookies', 'set-cookie', 'connectionParams', 'input', 'body', 'description', 'content', 'comment',
] as const
export const REDACTED = '[redacted]'
const redactPaths = REDACTED_KEYS.flatMap(key => [`["${key}"]`, `*["${key}"]`])

export interface LoggerOptions {
  level: Env['LOG_LEVEL']
  /** json: one JSON object per line (production); pretty: `[tasktracker] info: message {fields}` */
  format: 'json' | 'pretty'
  /** where lines go (default: stdout; pretty goes through console.log, and console.error for warn and error) */
  destination?: DestinationStream
}

/** pino's numeric levels → names, for the pretty formatter */
const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }

/** Development output: pino's JSON lines (redaction already applied) rewritten for people. */
function prettyStream(destination?: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      const { level, time: _time, pid: _pid, hostname: _host, msg, ...fields } = JSON.parse(line) as Record<string, unknown>
      const name = LEVEL_NAMES[level as number] ?? String(level)
      const text = `[tasktracker] ${name}: ${String(msg ?? '')}${Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}`
      if (destination) destination.write(`${text}\n`)
      else if (name === 'warn' || name === 'error' || name === 'fatal') console.error(text)
      else console.log(text)
    },
  }
}

/** A pino logger: ISO time, level names, redaction of {@link REDACTED_KEYS}. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { pid: process.pid, hostname: hostname() },
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: REDACTED },
    formatters: options.format === 'json' ? { level: (label: string) => ({ level: label }) } : {},
  }
  if (options.format === 'pretty') return pino(settings, prettyStream(options.destination))
  return options.destination ? pino(settings, options.destination) : pino(settings)
}

let instance: Logger | undefined

/** The process's pino logger, made from LOG_LEVEL / LOG_FORMAT on first use. */
export function useLogger(): Logger {
  if (!instance) {
    const env = useEnv()
    instance = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty') })
  }
  return instance
}

/** Replaces the process's logger (tests capture lines with it); returns the previous one. */
export function setLogger(next: Logger | undefined): Logger | undefined {
  const previous = instance
  instance = next
  return previous
}

function log(level: Level, message: string, extra?: Record<string, unknown>) {
  const target = useLogger()
  if (extra) target[level](extra, message)
  else target[level](message)
}

/** `logger.info('message', { fields })`: one line, JSON in production (docs/operations.md, Logs). */
export const logger = {
  debug: (m: string, e?: Record<string, unknown>) => log('debug', m, e),
  info: (m: string, e?: Record<string, unknown>) => log('info', m, e),
  warn: (m: string, e?: Record<string, unknown>) => log('warn', m, e),
  error: (m: string, e?: Record<string, unknown>) => log('error', m, e),
}

/** tRPC error codes that get a line of their own, and the event name they are logged under. */
const NOTABLE_CALL_ERRORS: Record<string, { event: string, level: Level }> = {
  TOO_MANY_REQUESTS: { event: 'rate_limit', level: 'warn' },
  UNAUTHORIZED: { event: 'auth_failure', level: 'warn' },
}

/**
 * A rate-limited or unauthenticated call, from the tRPC onError of either transport: the procedure,
 * who (user id when known, client address) and the message the client got. Never the input.
 */
export function logCallError(call: { code: string, message: string, path?: string, transport: 'http' | 'ws', userId?: string | null, ip?: string, connId?: string }) {
  const notable = NOTABLE_CALL_ERRORS[call.code]
  if (!notable) return
  const { code, message, path, ...who } = call
  log(notable.level, `${notable.event === 'rate_limit' ? 'rate limit hit' : 'auth failure'}: ${path ?? '?'}`, {
    event: notable.event, code, procedure: path ?? null, reason: message, ...who,
  })
}
