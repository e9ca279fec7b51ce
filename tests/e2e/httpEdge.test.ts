// The production build's tRPC HTTP route under hostile or broken conditions: huge and endless
// bodies, long batches, a flood of calls, a database that goes away.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { findPostgresBin, startPostgres, type PostgresServer } from '../setup/postgres'
import { sendBody, trpcCall, trpcError } from '../setup/rawHttp'
import { startAppServer, type AppServer } from './appServer'
import { httpClient } from './helpers'

const baseUrl = inject('baseUrl')
const MiB = 1024 * 1024

async function signedIn(base: string) {
  const { client, cookie } = httpClient(base)
  const username = `edge${Math.random().toString(36).slice(2, 10)}`
  await client.auth.register.mutate({ email: `${username}@example.test`, username, name: 'Edge Tester', password: 'correct-horse-battery' })
  return { client, cookie: cookie() }
}

describe('request bodies', () => {
  it('answers a 100 MB Content-Length with 413 at once, without waiting for the body', async () => {
    const res = await sendBody(`${baseUrl}/api/trpc/auth.login`, {
      headers: { 'content-type': 'application/json', 'content-length': String(100 * 1000 * 1000) },
      maxBytes: 256 * 1024,
    })
    expect(res.status).toBe(413)
    expect(trpcError(res.text)).toMatchObject({ message: `The request body is larger than ${MiB} bytes`, data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } })
  })

  it('answers a chunked body that grows past the limit with 413 and stops reading it', async () => {
    const res = await sendBody(`${baseUrl}/api/trpc/auth.login`, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      maxBytes: 64 * MiB,
    })
    expect(res.status).toBe(413)
    expect(trpcError(res.text)).toMatchObject({ data: { code: 'PAYLOAD_TOO_LARGE' } })
    expect(res.sentWhenAnswered).toBeLessThan(16 * MiB)
  })
})

describe('batches and the per-call rate limit', () => {
  it('refuses a batch of 21 calls with 400 and runs none of them', async () => {
    const { client, cookie } = await signedIn(baseUrl)
    const project = await client.project.create.mutate({ name: 'Long batches' })
    const inputs = Array.from({ length: 21 }, (_, i) => ({ projectId: project.id, title: `Batched ${i}` }))
    const res = await trpcCall(baseUrl, inputs.map(() => 'task.create'), { inputs, headers: { cookie } })
    expect(res.status).toBe(400)
    expect(res.errors[0]).toMatchObject({ message: 'A batch may hold at most 20 calls; this one has 21. Send them in smaller batches.', data: { code: 'BAD_REQUEST' } })
    expect(await client.task.list.query({ projectId: project.id })).toEqual([])
  })

  it('counts every call of a batch: batches of 20 exhaust the budget of 120 within a few requests', async () => {
    const { cookie } = await signedIn(baseUrl)
    const batch = Array.from({ length: 20 }, () => 'auth.me')
    const statuses: number[] = []
    let limited: Awaited<ReturnType<typeof trpcCall>> | undefined
    // Counted per request, 10 requests would be far below the budget; counted per call, a batch of 20
    // draws 20 of the 120 (the 30 of the current second, then the burst reserve), so the limit comes
    // after 5 or 6 batches, a few more if seconds pass in between.
    for (let i = 0; i < 10 && !limited; i++) {
      const res = await trpcCall(baseUrl, batch, { method: 'GET', headers: { cookie } })
      statuses.push(res.status)
      if (res.status === 429) limited = res
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
    expect(limited?.status, `statuses: ${statuses.join(', ')}`).toBe(429)
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(limited!.errors[0]).toMatchObject({ data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } })
  })
})

describe.runIf(findPostgresBin())('a PostgreSQL outage', () => {
  let postgres: PostgresServer | undefined
  let server: AppServer | undefined
  let cookie: string
  let projectId: string

  beforeAll(async () => {
    postgres = await startPostgres()
    server = await startAppServer({ DATABASE_URL: postgres.url('postgres') })
    const user = await signedIn(server.baseUrl)
    cookie = user.cookie
    projectId = (await user.client.project.create.mutate({ name: 'Outage' })).id
    await postgres.stop()
    postgres = undefined
  })
  afterAll(async () => {
    await server?.stop()
    await postgres?.stop()
  })

  it('answers 503 with Retry-After and no internals, for queries and writes', async () => {
    for (const res of [
      await trpcCall(server!.baseUrl, ['project.list'], { method: 'GET', headers: { cookie } }),
      await trpcCall(server!.baseUrl, ['task.create'], { inputs: [{ projectId, title: 'During the outage' }], headers: { cookie } }),
    ]) {
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('5')
      expect(res.errors[0]).toMatchObject({ data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 } })
      expect(JSON.stringify(res.json)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|prisma|SELECT|stack/i)
    }
  })
})
