import { describe, expect, it } from 'vitest'
import { parseEnv } from '../../server/utils/env'
import { socketOrigins, wantsHsts } from '../../server/utils/securityHeaders'

describe('deployment-dependent security headers', () => {
  it('HSTS only when the public origin is https', () => {
    expect(wantsHsts(parseEnv({ PUBLIC_ORIGIN: 'https://tasks.example.com' }))).toBe(true)
    expect(wantsHsts(parseEnv({ PUBLIC_ORIGIN: 'http://localhost:3000' }))).toBe(false)
    expect(wantsHsts(parseEnv({}))).toBe(false)
  })

  it('connect-src gets the ws(s) form of the public and every allowed origin, once each', () => {
    const env = parseEnv({ PUBLIC_ORIGIN: 'https://tasks.example.com', ALLOWED_ORIGINS: 'https://tasks.example.com, http://intranet:8080/' })
    expect(socketOrigins(env)).toEqual(['wss://tasks.example.com', 'ws://intranet:8080'])
  })

  it('leaves out IPv6 literals, which CSP cannot name (the development loopback aliases include [::1])', () => {
    const env = parseEnv({ NODE_ENV: 'development', PUBLIC_ORIGIN: 'http://localhost:3000' })
    expect(env.allowedOrigins).toContain('http://[::1]:3000')
    expect(socketOrigins(env)).toEqual(['ws://localhost:3000', 'ws://127.0.0.1:3000'])
  })
})
