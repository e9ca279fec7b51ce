import { useEnv } from './env'

const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const
type Level = Exclude<keyof typeof levels, 'silent'>

function log(level: Level, message: string, extra?: Record<string, unknown>) {
  if (levels[level] < levels[useEnv().LOG_LEVEL]) return
  const line = extra ? `${message} ${JSON.stringify(extra)}` : message
  const out = level === 'error' || level === 'warn' ? console.error : console.log
  out(`[tasktracker] ${level}: ${line}`)
}

export const logger = {
  debug: (m: string, e?: Record<string, unknown>) => log('debug', m, e),
  info: (m: string, e?: Record<string, unknown>) => log('info', m, e),
  warn: (m: string, e?: Record<string, unknown>) => log('warn', m, e),
  error: (m: string, e?: Record<string, unknown>) => log('error', m, e),
}
