// One log line per HTTP request (server/utils/requestLog.ts), on a real h3 app over a real socket.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, createRouter, defineEventHandler, setResponseStatus, toNodeListener } from 'h3'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createLogger, setLogger } from '../../server/utils/logger'
import { logRequest, proceduresOf, requestIdOf } from '../../server/utils/requestLog'

describe('requestIdOf', () => {
  it('takes the proxy id when it looks like one, else makes a UUID', () => {
    expect(requestIdOf({ 'x-request-id': 'abc-123' })).toBe('abc-123')
    expect(requestIdOf({ 'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678' })).toBe('Root=1-67891233-abcdef012345678912345678')
    expect(requestIdOf({ 'x-request-id': 'has spaces "and quotes"' })).toMatch(/^[0-9a-f-]{36}$/)
    expect(requestIdOf({ 'x-request-id': 'x'.repeat(500) })).toMatch(/^[0-9a-f-]{36}$/)
    expect(requestIdOf({})).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('proceduresOf', () => {
  it('lists the procedures of a call or batch, never the query', () => {
    expect(proceduresOf('/api/trpc/task.list')).toEqual(['task.list'])
    expect(proceduresOf('/api/trpc/task.list,project.get')).toEqual(['task.list', 'project.get'])
    expect(proceduresOf('/api/trpc/task.list%2Cproject.get')).toEqual(['task.list', 'project.get'])
    expect(proceduresOf('/api/trpc/<script>,ok.one')).toEqual(['ok.one'])
    expect(proceduresOf('/board/1')).toBeUndefined()
  })
})

describe('logRequest', () => {
  const lines: Record<string, unknown>[] = []
  let server: Server
  let base: string
  let previous: ReturnType<typeof setLogger>

  beforeAll(async () => {
    previous = setLogger(createLogger({ level: 'info', format: 'json', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } }))
    const router = createRouter()
      .get('/api/trpc/**', defineEventHandler((event) => {
        event.context.userId = 'user-42'
        return { ok: true }
      }))
      .get('/api/health', defineEventHandler(() => ({ status: 'ok' })))
      .get('/boom', defineEventHandler((event) => {
        setResponseStatus(event, 503)
        return 'down'
      }))
    const app = createApp({ onRequest: logRequest }).use(router)
    server = createServer(toNodeListener(app))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    setLogger(previous)
    await new Promise(resolve => server.close(resolve))
  })
  afterEach(() => {
    lines.length = 0
  })

  it('logs method, path without the query, procedures, status, duration, user and request id; echoes the id', async () => {
    const res = await fetch(`${base}/api/trpc/task.list,task.get?batch=1&input=${encodeURIComponent('{"secret":"never-logged"}')}`, { headers: { 'x-request-id': 'req-1' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBe('req-1')
    await vi.waitFor(() => expect(lines).toHaveLength(1))
    expect(lines[0]).toMatchObject({
      level: 'info', event: 'http.request', msg: 'GET /api/trpc/task.list,task.get 200', method: 'GET',
      path: '/api/trpc/task.list,task.get', procedures: ['task.list', 'task.get'], status: 200, userId: 'user-42', requestId: 'req-1',
    })
    expect(lines[0]!.durationMs).toEqual(expect.any(Number))
    expect(lines[0]!.aborted).toBeUndefined()
    expect(JSON.stringify(lines)).not.toContain('never-logged')
  })

  it('keeps probes out of the info log and logs 5xx as warnings', async () => {
    await fetch(`${base}/api/health`)
    const res = await fetch(`${base}/boom`)
    expect(res.status).toBe(503)
    await vi.waitFor(() => expect(lines).toHaveLength(1))
    expect(lines[0]).toMatchObject({ level: 'warn', path: '/boom', status: 503, userId: null })
    expect(res.headers.get('x-request-id')).toBe(lines[0]!.requestId)
  })
})
