// The tRPC HTTP route's edge (server/trpc/http.ts, the handler of server/api/trpc/[trpc].ts) on a
// real h3 server and a real database: body limit, batch limit, rate limit per call.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, toNodeListener } from 'h3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTrpcHttpHandler, HTTP_CALL_LIMIT } from '../../server/trpc/http'
import type { Database } from '../../server/utils/db'
import { parseEnv, type Env } from '../../server/utils/env'
import { callLimiter, memoryStore } from '../../server/utils/rateLimit'
import { signUp, taskInput, TEST_PASSWORD } from '../factories'
import { sendBody, trpcCall, trpcError } from '../setup/rawHttp'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const MiB = 1024 * 1024

describe.runIf(databaseAvailable)('tRPC over HTTP: bodies, batches and the per-call rate limit', () => {
  let db: Database
  let server: Server
  let base: string
  let env: Env
  let restoreServices: (() => void) | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    const app = createApp()
    app.use(createTrpcHttpHandler({ env: () => env, db: async () => db.prisma }))
    server = createServer(toNodeListener(app))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    env = parseEnv({ NODE_ENV: 'test', PUBLIC_ORIGIN: base })
  })
  afterEach(() => {
    restoreServices?.()
    restoreServices = undefined
  })
  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise(resolve => server?.close(resolve))
    await db?.close()
  })

  const cookieOf = (u: Awaited<ReturnType<typeof signUp>>) => `tt_session=${u.jar.values.get('tt_session')}`

  it('refuses a declared Content-Length over MAX_BODY_BYTES with 413 before reading the body', async () => {
    // 100 MB announced, 256 KiB sent: the answer comes without the rest ever being sent.
    const res = await sendBody(`${base}/api/trpc/auth.login`, {
      headers: { 'content-type': 'application/json', 'content-length': String(100 * 1000 * 1000) },
      maxBytes: 256 * 1024,
    })
    expect(res.status).toBe(413)
    expect(trpcError(res.text)).toMatchObject({ data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } })
    expect(trpcError(res.text)!.message).toBe(`The request body is larger than ${MiB} bytes`)
  })

  it('stops reading a chunked body once it passes MAX_BODY_BYTES and answers 413', async () => {
    const res = await sendBody(`${base}/api/trpc/auth.login`, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      maxBytes: 64 * MiB,
    })
    expect(res.status).toBe(413)
    expect(trpcError(res.text)).toMatchObject({ data: { code: 'PAYLOAD_TOO_LARGE' } })
    // The server stopped at the limit: the client was far from done (socket buffers hold a few MiB at most).
    expect(res.sentWhenAnswered).toBeLessThan(16 * MiB)
  })

  it('still takes a body just under the limit', async () => {
    const user = await signUp(db)
    const padding = 'x'.repeat(MiB - 1024)
    const res = await trpcCall(base, ['auth.login'], { inputs: [{ login: user.user.username, password: TEST_PASSWORD, padding }] })
    expect(res.status).toBe(200)
  })

  it('refuses a batch longer than MAX_BATCH_SIZE with 400 before any call runs', async () => {
    const owner = await signUp(db)
    const project = await owner.caller.project.create({ name: 'Batch limits' })
    const calls = Array.from({ length: 21 }, (_, i) => taskInput(project.id, { title: `Batched ${i}` }))
    const res = await trpcCall(base, calls.map(() => 'task.create'), { inputs: calls, headers: { cookie: cookieOf(owner) } })
    expect(res.status).toBe(400)
    expect(res.errors[0]).toMatchObject({ data: { code: 'BAD_REQUEST' } })
    expect(res.errors[0]!.message).toBe('A batch may hold at most 20 calls; this one has 21. Send them in smaller batches.')
    expect(await db.prisma.task.count({ where: { projectId: project.id } })).toBe(0)

    // 20 is fine (queries: 20 concurrent writes could wait on the test's small pool under load).
    const ok = await trpcCall(base, Array.from({ length: 20 }, () => 'project.list'), { method: 'GET', headers: { cookie: cookieOf(owner) } })
    expect(ok.status).toBe(200)
    expect(ok.errors.every(e => e === undefined)).toBe(true)
  })

  it('takes one rate-limit token per call of a batch, per user, and answers 429 with Retry-After', async () => {
    // The default burst, refilled at 1 call/s: however slow the machine, the test cannot earn back a batch.
    restoreServices = installTestServices({ limits: { http: callLimiter(memoryStore(), 'http-test', { capacity: HTTP_CALL_LIMIT.capacity, perSecond: 1 }) } }).restore
    const alice = await signUp(db)
    const bob = await signUp(db)
    const batchOf20 = Array.from({ length: 20 }, () => 'auth.me')
    // A batch takes its 20 calls from one of the two budgets (the second's 1, then the burst's 119):
    // 5 batches pass, the 6th does not. Counted per request, 6 requests would be nowhere near a limit.
    for (let i = 0; i < 5; i++) {
      expect((await trpcCall(base, batchOf20, { method: 'GET', headers: { cookie: cookieOf(alice) } })).status).toBe(200)
    }
    const limited = await trpcCall(base, batchOf20, { method: 'GET', headers: { cookie: cookieOf(alice) } })
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(limited.errors[0]).toMatchObject({ message: `Too many requests, retry in ${retryAfter} s`, data: { code: 'TOO_MANY_REQUESTS', details: { retryAfterSeconds: retryAfter } } })
    // Another user has a budget of their own.
    expect((await trpcCall(base, ['auth.me'], { method: 'GET', headers: { cookie: cookieOf(bob) } })).status).toBe(200)
  })

  it('refuses a cross-site POST with 403 in the tRPC shape, without reading its body', async () => {
    const res = await sendBody(`${base}/api/trpc/auth.logout`, {
      headers: { 'content-type': 'application/json', 'origin': 'https://evil.example', 'content-length': String(MiB / 2) },
      maxBytes: 64 * 1024,
    })
    expect(res.status).toBe(403)
    expect(trpcError(res.text)).toMatchObject({ message: 'Cross-site request refused: this origin may not call the API', data: { code: 'FORBIDDEN' } })
  })
})
