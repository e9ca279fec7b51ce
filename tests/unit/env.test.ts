import { describe, expect, it } from 'vitest'
import { HTTP_CALL_LIMIT, httpCallRateOf } from '../../server/trpc/http'
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

  it('keeps the HTTP call budget at HTTP_CALL_LIMIT unless HTTP_CALL_BURST / HTTP_CALLS_PER_SECOND say otherwise', () => {
    expect(httpCallRateOf(parseEnv({}))).toEqual(HTTP_CALL_LIMIT)
    expect(httpCallRateOf(parseEnv({ HTTP_CALL_BURST: '5000', HTTP_CALLS_PER_SECOND: '2000' }))).toEqual({ capacity: 5000, perSecond: 2000 })
    expect(() => parseEnv({ HTTP_CALLS_PER_SECOND: '0' })).toThrow(/HTTP_CALLS_PER_SECOND/)
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

  describe('in production', () => {
    const message = (source: Record<string, string>) => {
      try {
        parseEnv({ NODE_ENV: 'production', ...source })
        return ''
      }
      catch (error) {
        return (error as Error).message
      }
    }

    it('refuses a plain-http PUBLIC_ORIGIN or ALLOWED_ORIGINS entry with one clear line', () => {
      const line = message({ PUBLIC_ORIGIN: 'http://tasks.example.com' })
      expect(line).toBe('Invalid configuration: http://tasks.example.com is plain http in production; use https for PUBLIC_ORIGIN and ALLOWED_ORIGINS, or set ALLOW_INSECURE_ORIGIN=true if TLS ends in front of the app on a network you trust')
      expect(message({ PUBLIC_ORIGIN: 'https://tasks.example.com', ALLOWED_ORIGINS: 'https://a.example.com,http://b.example.com:8080' }))
        .toMatch(/^Invalid configuration: http:\/\/b\.example\.com:8080 is plain http in production;[^\n]*$/)
    })

    it('accepts https, loopback http (the production build on one machine) and the explicit override', () => {
      expect(message({ PUBLIC_ORIGIN: 'https://tasks.example.com' })).toBe('')
      expect(message({})).toBe('') // unset = http://localhost:3000
      expect(message({ PUBLIC_ORIGIN: 'http://127.0.0.1:4123' })).toBe('')
      expect(message({ PUBLIC_ORIGIN: 'http://[::1]:3000' })).toBe('')
      const env = parseEnv({ NODE_ENV: 'production', PUBLIC_ORIGIN: 'http://tasks.internal', ALLOW_INSECURE_ORIGIN: 'true' })
      expect(env).toMatchObject({ ALLOW_INSECURE_ORIGIN: true, secureCookies: false, allowedOrigins: ['http://tasks.internal'] })
    })

    it('leaves http origins alone outside production', () => {
      expect(parseEnv({ NODE_ENV: 'development', PUBLIC_ORIGIN: 'http://tasks.example.com' }).PUBLIC_ORIGIN).toBe('http://tasks.example.com')
      expect(parseEnv({ NODE_ENV: 'test', PUBLIC_ORIGIN: 'http://tasks.example.com' }).PUBLIC_ORIGIN).toBe('http://tasks.example.com')
    })

    it('refuses a short AUTH_SECRET (in every environment)', () => {
      expect(message({ PUBLIC_ORIGIN: 'https://tasks.example.com', AUTH_SECRET: 'short-secret' }))
        .toBe('Invalid configuration: AUTH_SECRET: AUTH_SECRET must be at least 32 characters (e.g. openssl rand -base64 32)')
      expect(message({ PUBLIC_ORIGIN: 'https://tasks.example.com', AUTH_SECRET: 'x'.repeat(32) })).toBe('')
    })
  })

  it('reads DATABASE_POOL_MAX, 10 by default, refusing 0', () => {
    expect(parseEnv({}).DATABASE_POOL_MAX).toBe(10)
    expect(parseEnv({ DATABASE_POOL_MAX: '25' }).DATABASE_POOL_MAX).toBe(25)
    expect(() => parseEnv({ DATABASE_POOL_MAX: '0' })).toThrow(/^Invalid configuration: DATABASE_POOL_MAX:/)
  })

  it('reads MIGRATE_ONLY as a boolean, off by default', () => {
    expect(parseEnv({}).MIGRATE_ONLY).toBe(false)
    expect(parseEnv({ MIGRATE_ONLY: 'true' }).MIGRATE_ONLY).toBe(true)
    expect(() => parseEnv({ MIGRATE_ONLY: 'yes' })).toThrow(/^Invalid configuration: MIGRATE_ONLY:/)
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

  it('VAPID keys come as a pair of base64url keys of the right sizes; the subject defaults to the PUBLIC_ORIGIN host', () => {
    const publicKey = Buffer.alloc(65, 4).toString('base64url')
    const privateKey = Buffer.alloc(32, 7).toString('base64url')
    expect(parseEnv({ VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey })).toMatchObject({ VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey })
    expect(parseEnv({ PUBLIC_ORIGIN: 'https://tasks.example.com' }).vapidSubject).toBe('mailto:no-reply@tasks.example.com')
    expect(parseEnv({ VAPID_SUBJECT: 'https://tasks.example.com/contact' }).vapidSubject).toBe('https://tasks.example.com/contact')
    expect(() => parseEnv({ VAPID_PUBLIC_KEY: publicKey })).toThrow('set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither')
    expect(() => parseEnv({ VAPID_PUBLIC_KEY: publicKey.slice(2), VAPID_PRIVATE_KEY: privateKey })).toThrow('VAPID_PUBLIC_KEY must be a base64url uncompressed P-256 public key')
    expect(() => parseEnv({ VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: 'not/base64url' })).toThrow('VAPID_PRIVATE_KEY must be a base64url P-256 private key')
    expect(() => parseEnv({ VAPID_SUBJECT: 'ops@example.com' })).toThrow('VAPID_SUBJECT must be mailto:')
  })

  it('PUSH_ENDPOINT_ALLOWLIST is a list of origins', () => {
    expect(parseEnv({}).pushEndpointOrigins).toEqual([])
    expect(parseEnv({ PUSH_ENDPOINT_ALLOWLIST: 'https://push.example.com/, http://127.0.0.1:8999' }).pushEndpointOrigins).toEqual(['https://push.example.com', 'http://127.0.0.1:8999'])
    expect(() => parseEnv({ PUSH_ENDPOINT_ALLOWLIST: 'push.example.com' })).toThrow('PUSH_ENDPOINT_ALLOWLIST: "push.example.com" is not an origin')
  })
})
