import { TRPCError } from '@trpc/server'
import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import superjson from 'superjson'
import { describe, expect, it } from 'vitest'
import type { ZodError } from 'zod'
import { taskUpdateInput } from '../../shared/schemas/task'
import { registerInput } from '../../shared/schemas/auth'
import { createServices } from '../../server/container'
import { DomainError } from '../../server/services/errors'
import type { Context } from '../../server/trpc/context'
import { appRouter, createCaller } from '../../server/trpc/routers/_app'
import { formatError } from '../factories'

/** A signed-in context whose database fails like a broken connection would. */
function brokenDbContext(): Context {
  const failing = new Proxy({}, {
    get: () => new Proxy({}, {
      get: () => () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:5432 at /srv/app/node_modules/pg/lib/client.js')),
    }),
  })
  return {
    db: failing as Context['db'],
    env: { secureCookies: false },
    cookies: { get: () => undefined, set: () => {}, delete: () => {} },
    ip: '127.0.0.1',
    services: createServices(),
    user: { id: 'u1', email: 'u1@example.test', username: 'u1', name: 'U One', status: 'AVAILABLE', timezone: 'UTC' },
    session: { id: 's1', userId: 'u1', expiresAt: new Date(Date.now() + 60_000) },
    setSessionCookie: () => {},
    clearSessionCookie: () => {},
  }
}

async function caughtFrom(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.then(() => null, (e: unknown) => e)
  if (!(error instanceof TRPCError)) throw new Error(`expected a TRPCError, got ${String(error)}`)
  return error
}

describe('errorFormatter', () => {
  it('runs outside dev mode in tests, as in production', () => {
    expect(appRouter._def._config.isDev).toBe(false)
  })

  it('masks unexpected errors and never sends a stack', async () => {
    const error = await caughtFrom(createCaller(brokenDbContext()).project.list())
    expect(error.code).toBe('INTERNAL_SERVER_ERROR')
    const shape = formatError(error, 'project.list')
    expect(shape.message).toBe('Something went wrong on our side. Please try again.')
    expect(JSON.stringify(shape)).not.toMatch(/ECONNREFUSED|\/srv\/app|10\.1\.2\.3/)
    expect(shape.data.stack).toBeUndefined()
    expect(shape.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, path: 'project.list' })
    expect(shape.data.fieldErrors).toBeUndefined()
  })

  it('has no stack for any error code', () => {
    for (const code of ['BAD_REQUEST', 'NOT_FOUND', 'CONFLICT', 'INTERNAL_SERVER_ERROR'] as const) {
      expect(formatError(new TRPCError({ code, message: 'x' })).data.stack).toBeUndefined()
    }
  })

  it('turns zod issues into fieldErrors with a generic message', () => {
    const parsed = registerInput.safeParse({ email: 'nope', username: 'ok_name', name: 'N', password: 'short' })
    expect(parsed.success).toBe(false)
    const shape = formatError(new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error as ZodError }))
    expect(shape.message).toBe('Invalid input')
    expect(shape.data.fieldErrors).toEqual({ email: ['Enter a valid email address'], password: ['At least 10 characters'] })
    expect(shape.data.formErrors).toBeUndefined()
  })

  it('names nested fields by their dotted path', () => {
    const parsed = taskUpdateInput.safeParse({ id: 't1', baseVersion: 1, patch: { title: '', labels: ['x'.repeat(40)] } })
    expect(parsed.success).toBe(false)
    const shape = formatError(new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error as ZodError }))
    expect(shape.data.fieldErrors).toEqual({ 'patch.title': ['Required'], 'patch.labels': ['Labels are at most 32 characters'] })
  })

  it('keeps domain messages and points a domain error with a field at that field', () => {
    const cause = new DomainError('CONFLICT', 'The username ana is taken', { field: 'username' })
    const shape = formatError(new TRPCError({ code: 'CONFLICT', message: cause.message, cause }))
    expect(shape.message).toBe('The username ana is taken')
    expect(shape.data).toMatchObject({ code: 'CONFLICT', httpStatus: 409, fieldErrors: { username: ['The username ana is taken'] } })
    expect(shape.data.details).toBeUndefined()
  })

  it('passes other domain details through (retry hints, current versions)', () => {
    const cause = new DomainError('TOO_MANY_REQUESTS', 'Slow down', { retryAfterSeconds: 42 })
    const shape = formatError(new TRPCError({ code: 'TOO_MANY_REQUESTS', message: cause.message, cause }))
    expect(shape.data).toMatchObject({ httpStatus: 429, details: { retryAfterSeconds: 42 } })
    expect(shape.data.fieldErrors).toBeUndefined()
  })

  it('rejects guests before touching the database', async () => {
    const ctx = { ...brokenDbContext(), user: null, session: null }
    const error = await caughtFrom(createCaller(ctx).project.list())
    expect(error.code).toBe('UNAUTHORIZED')
    expect(formatError(error).message).toBe('Sign in first')
  })
})

describe('response transformer', () => {
  const { transformer } = appRouter._def._config

  it('round-trips dates and other superjson types', () => {
    const value = { at: new Date('2030-01-01T00:00:00Z'), tags: new Set(['a']), n: null }
    const wire = JSON.parse(JSON.stringify(transformer.output.serialize(value)))
    expect(transformer.output.deserialize(wire)).toEqual(value)
    expect(transformer.input.deserialize(transformer.input.serialize(value))).toEqual(value)
  })

  it('serializes one shared result object once, and primitives directly', () => {
    const list = [{ id: 't1', dueDate: new Date(0) }]
    expect(transformer.output.serialize(list)).toBe(transformer.output.serialize(list))
    expect(transformer.output.serialize([...list])).not.toBe(transformer.output.serialize(list))
    expect(transformer.output.deserialize(transformer.output.serialize('plain'))).toBe('plain')
  })
})

describe('over HTTP (fetch adapter, same router and formatter)', () => {
  const handle = (req: Request, ctx: Context) => fetchRequestHandler({ endpoint: '/api/trpc', req, router: appRouter, createContext: () => ctx })

  it('answers an unexpected failure with 500, a generic message and no stack or internals', async () => {
    const res = await handle(new Request('http://localhost/api/trpc/project.list'), brokenDbContext())
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(text).not.toMatch(/ECONNREFUSED|\/srv\/app|stack|at Object\./)
    const { error } = JSON.parse(text) as { error: { json: { message: string, data: Record<string, unknown> } } }
    expect(error.json.message).toBe('Something went wrong on our side. Please try again.')
    expect(error.json.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 })
    expect(error.json.data.stack).toBeUndefined()
  })

  it('answers invalid input with 400 and per-field messages', async () => {
    const body = JSON.stringify(superjson.serialize({ email: 'x', username: 'good_name', name: 'N', password: 'correct-horse-battery' }))
    const res = await handle(new Request('http://localhost/api/trpc/auth.register', { method: 'POST', body, headers: { 'content-type': 'application/json' } }), { ...brokenDbContext(), user: null, session: null })
    expect(res.status).toBe(400)
    const { error } = await res.json() as { error: { json: { message: string, data: { fieldErrors: Record<string, string[]>, stack?: string } } } }
    expect(error.json.message).toBe('Invalid input')
    expect(error.json.data.fieldErrors).toEqual({ email: ['Enter a valid email address'] })
    expect(error.json.data.stack).toBeUndefined()
  })
})
