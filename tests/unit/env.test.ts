import { describe, expect, it } from 'vitest'
import { parseEnv } from '../../server/utils/env'

describe('parseEnv', () => {
  it('defaults to embedded PGlite on localhost', () => {
    const env = parseEnv({})
    expect(env.DATABASE_URL).toBeUndefined()
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PGLITE_DIR: '.data/pglite',
      PUBLIC_ORIGIN: 'http://localhost:3000',
      SEED_DEMO: 'auto',
      TRUST_PROXY: false,
      LOG_LEVEL: 'info',
      // In development the other loopback names of the same port work too (npm run dev on 127.0.0.1).
      allowedOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000'],
      secureCookies: false,
    })
  })

  it('treats empty strings as unset', () => {
    const env = parseEnv({ DATABASE_URL: '', PUBLIC_ORIGIN: '', LOG_LEVEL: '' })
    expect(env.DATABASE_URL).toBeUndefined()
    expect(env).toMatchObject({ PUBLIC_ORIGIN: 'http://localhost:3000', LOG_LEVEL: 'info' })
  })

  it('rejects a DATABASE_URL that is not PostgreSQL with one clear line', () => {
    let message = ''
    try {
      parseEnv({ DATABASE_URL: 'mysql://root@localhost/db' })
    }
    catch (error) {
      message = (error as Error).message
    }
    expect(message).toBe('Invalid configuration: DATABASE_URL: DATABASE_URL must start with postgres:// or postgresql://')
    expect(message).not.toContain('\n')
    expect(parseEnv({ DATABASE_URL: 'postgres://u@db/app' }).DATABASE_URL).toBe('postgres://u@db/app')
    expect(parseEnv({ DATABASE_URL: 'postgresql://u@db/app' }).DATABASE_URL).toBe('postgresql://u@db/app')
  })

  it('lists every problem in that line', () => {
    const message = (() => {
      try {
        parseEnv({ PUBLIC_ORIGIN: 'tasks.example.com', LOG_LEVEL: 'loud', TRUST_PROXY: 'yes' })
      }
      catch (error) {
        return (error as Error).message
      }
      return 'no error'
    })()
    expect(message).toMatch(/^Invalid configuration: /)
    expect(message).not.toContain('\n')
    expect(message.split('; ').map(part => part.replace('Invalid configuration: ', '').split(':')[0]).sort()).toEqual(['LOG_LEVEL', 'PUBLIC_ORIGIN', 'TRUST_PROXY'])
    expect(message).toContain('PUBLIC_ORIGIN must be a URL such as https://tasks.example.com')
  })

  it('allows PUBLIC_ORIGIN and ALLOWED_ORIGINS, normalized; HTTPS origins get secure cookies', () => {
    const env = parseEnv({ PUBLIC_ORIGIN: 'https://tasks.example.com/' })
    expect(env.allowedOrigins).toEqual(['https://tasks.example.com'])
    expect(env.secureCookies).toBe(true)

    const many = parseEnv({ PUBLIC_ORIGIN: 'https://Tasks.example.com:443', ALLOWED_ORIGINS: ' https://a.example.com/, https://b.example.com:8443 ,' })
    expect(many.allowedOrigins).toEqual(['https://tasks.example.com', 'https://a.example.com', 'https://b.example.com:8443'])
  })

  it('adds the loopback aliases in development only', () => {
    expect(parseEnv({ NODE_ENV: 'production', PUBLIC_ORIGIN: 'http://localhost:3000' }).allowedOrigins).toEqual(['http://localhost:3000'])
    expect(parseEnv({ NODE_ENV: 'development', PUBLIC_ORIGIN: 'https://tasks.example.com' }).allowedOrigins).toEqual(['https://tasks.example.com'])
  })

  it('rejects an ALLOWED_ORIGINS entry that is not an origin', () => {
    expect(() => parseEnv({ ALLOWED_ORIGINS: 'https://ok.example.com,ftp://files.example.com' })).toThrow('Invalid configuration: ALLOWED_ORIGINS: "ftp://files.example.com" is not an origin such as https://app.example.com')
  })

  it('parses booleans and enums', () => {
    expect(parseEnv({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true)
    expect(parseEnv({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(true)
    expect(parseEnv({ TRUST_PROXY: '0' }).TRUST_PROXY).toBe(false)
    expect(parseEnv({ SEED_DEMO: 'false', LOG_LEVEL: 'silent' })).toMatchObject({ SEED_DEMO: 'false', LOG_LEVEL: 'silent' })
    expect(() => parseEnv({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL must start with redis:\/\//)
  })

  it('AUTH_SECRET is optional, and at least 32 characters when set', () => {
    expect(parseEnv({}).AUTH_SECRET).toBeUndefined()
    expect(parseEnv({ AUTH_SECRET: '' }).AUTH_SECRET).toBeUndefined()
    const secret = 'k'.repeat(32)
    expect(parseEnv({ AUTH_SECRET: secret }).AUTH_SECRET).toBe(secret)
    expect(() => parseEnv({ AUTH_SECRET: 'short-secret' })).toThrow('Invalid configuration: AUTH_SECRET: AUTH_SECRET must be at least 32 characters')
  })

  it('METRICS_TOKEN is optional (metrics off), and at least 16 characters without spaces when set', () => {
    expect(parseEnv({}).METRICS_TOKEN).toBeUndefined()
    expect(parseEnv({ METRICS_TOKEN: '' }).METRICS_TOKEN).toBeUndefined()
    expect(parseEnv({ METRICS_TOKEN: 'm'.repeat(16) }).METRICS_TOKEN).toBe('m'.repeat(16))
    expect(() => parseEnv({ METRICS_TOKEN: 'too-short' })).toThrow('Invalid configuration: METRICS_TOKEN: METRICS_TOKEN must be at least 16 characters')
    expect(() => parseEnv({ METRICS_TOKEN: 'has a space in the middle' })).toThrow('METRICS_TOKEN must not contain spaces')
  })
  it('SHUTDOWN_SPREAD_MS and SHUTDOWN_TIMEOUT_MS default to 3 s and 10 s; the spread must end before the timeout', () => {
    expect(parseEnv({})).toMatchObject({ SHUTDOWN_SPREAD_MS: 3_000, SHUTDOWN_TIMEOUT_MS: 10_000 })
    expect(parseEnv({ SHUTDOWN_SPREAD_MS: '0', SHUTDOWN_TIMEOUT_MS: '1000' })).toMatchObject({ SHUTDOWN_SPREAD_MS: 0, SHUTDOWN_TIMEOUT_MS: 1_000 })
    expect(() => parseEnv({ SHUTDOWN_SPREAD_MS: '-1' })).toThrow('Invalid configuration: SHUTDOWN_SPREAD_MS')
    expect(() => parseEnv({ SHUTDOWN_TIMEOUT_MS: '500' })).toThrow('Invalid configuration: SHUTDOWN_TIMEOUT_MS')
    expect(() => parseEnv({ SHUTDOWN_TIMEOUT_MS: 'soon' })).toThrow('Invalid configuration: SHUTDOWN_TIMEOUT_MS')
    expect(() => parseEnv({ SHUTDOWN_SPREAD_MS: '5000', SHUTDOWN_TIMEOUT_MS: '5000' })).toThrow('SHUTDOWN_SPREAD_MS must be less than SHUTDOWN_TIMEOUT_MS')
  })
  it('an unset PUBLIC_ORIGIN follows the port the server listens on', () => {
    expect(parseEnv({ PORT: '4000' }).PUBLIC_ORIGIN).toBe('http://localhost:4000')
    expect(parseEnv({ NUXT_PORT: '3999', PORT: '4000' }).allowedOrigins[0]).toBe('http://localhost:3999')
    expect(parseEnv({ PORT: '4000', PUBLIC_ORIGIN: 'https://tasks.example.com' }).PUBLIC_ORIGIN).toBe('https://tasks.example.com')
  })
})
