import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWsContext } from '../../server/realtime/wsContext'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { callerFor, failure, signUp } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('rate limit of calls over a WebSocket', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.close()
  })

  /** A caller with the context a socket gets (session cookie on the upgrade request). */
  async function socketCaller(cookie: string | undefined, ip = '10.9.9.9') {
    const ctx = await createWsContext({ db: db.prisma, env: { secureCookies: false }, headers: cookie ? { cookie } : {}, ip, connectionParams: null })
    expect(ctx.socket).toBe(true)
    return createCaller(ctx)
  }

  async function burst(call: () => Promise<unknown>, n: number) {
    const results = await Promise.all(Array.from({ length: n }, () => failure(call()).catch(() => null)))
    // failure() throws (→ null) when the call succeeded
    return { ok: results.filter(r => r === null).length, limited: results.filter(r => r?.code === 'TOO_MANY_REQUESTS') }
  }

  it('answers TOO_MANY_REQUESTS past a burst of 30 per user, other users unaffected', async () => {
    const alice = await signUp(db)
    const bob = await signUp(db)
    const cookieOf = (u: typeof alice) => `tt_session=${u.jar.values.get('tt_session')}`
    const aliceSocket = await socketCaller(cookieOf(alice))
    const { ok, limited } = await burst(() => aliceSocket.auth.me(), 45)
    expect(ok).toBeGreaterThanOrEqual(30)
    expect(ok).toBeLessThan(40)
    expect(limited.length).toBe(45 - ok)
    expect(limited[0]!.message).toMatch(/Too many requests/)
    // A second socket of the same user shares the budget; another user has their own.
    expect((await failure((await socketCaller(cookieOf(alice), '10.9.9.10')).auth.me())).code).toBe('TOO_MANY_REQUESTS')
    expect(await (await socketCaller(cookieOf(bob))).auth.me()).toMatchObject({ id: bob.user.id })
  })

  it('keys unauthenticated sockets by IP, and never limits HTTP callers here', async () => {
    const anon = await socketCaller(undefined, '10.7.7.7')
    const { limited } = await burst(() => anon.auth.me(), 45)
    expect(limited.length).toBeGreaterThan(0)
    expect(await (await socketCaller(undefined, '10.7.7.8')).auth.me()).toBeNull()
    const http = await callerFor(db, { ip: '10.7.7.7' })
    const { ok } = await burst(() => http.auth.me(), 45)
    expect(ok).toBe(45)
  })
})
