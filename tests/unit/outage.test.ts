import { describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import { isDatabaseUnavailable } from '../../server/utils/outage'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

describe('isDatabaseUnavailable', () => {
  it('recognizes Prisma connection and pool errors', () => {
    for (const code of ['P1001', 'P1002', 'P1017', 'P2024']) expect(isDatabaseUnavailable(withCode('x', code))).toBe(true)
  })

  it('recognizes pg driver and PGlite errors, also deep in the cause chain or in a driver adapter error', () => {
    expect(isDatabaseUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true)
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true)
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true)
    expect(isDatabaseUnavailable(new Error('PGlite is closed'))).toBe(true)
    expect(isDatabaseUnavailable(withCode('terminating connection due to administrator command', '57P01'))).toBe(true)
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: new Error('wrapped again', { cause: withCode('', 'ECONNRESET') }) }))).toBe(true)
    expect(isDatabaseUnavailable(Object.assign(new Error('adapter'), { meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } } }))).toBe(true)
  })

  it('leaves the request\'s own faults and bugs alone', () => {
    expect(isDatabaseUnavailable(withCode('Unique constraint failed', 'P2002'))).toBe(false)
    expect(isDatabaseUnavailable(withCode('invalid input syntax', '22P02'))).toBe(false)
    expect(isDatabaseUnavailable(new ZodError([]))).toBe(false)
    expect(isDatabaseUnavailable(new TypeError('Cannot read properties of undefined'))).toBe(false)
    expect(isDatabaseUnavailable(null)).toBe(false)
    const loop: { cause?: unknown } = {}
    loop.cause = loop
    expect(isDatabaseUnavailable(loop)).toBe(false)
  })
})
