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
})
