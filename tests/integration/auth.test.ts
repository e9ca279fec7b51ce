import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loginLimits } from '../../server/services/auth'
import { SESSION_COOKIE } from '../../server/services/session'
import type { Database } from '../../server/utils/db'
import { callerFor, cookieJar, failure, sha256Hex, signUp, TEST_PASSWORD, uniqueName } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const DAY = 24 * 60 * 60 * 1000

describe.runIf(databaseAvailable)('auth', () => {
  let db: Database
  /** One registered account shared by tests that only sign in (argon2 makes sign-ups slow). */
  let alice: Awaited<ReturnType<typeof signUp>>

  beforeAll(async () => {
    db = await createTestDatabase()
    alice = await signUp(db, { name: 'Alice Example' })
  })
  afterAll(() => db?.close())

  const sessionOf = (token: string) => db.prisma.session.findUnique({ where: { id: sha256Hex(token) } })

  describe('register', () => {
    it('signs the new user in with a cookie whose token is stored only as its SHA-256', async () => {
      const jar = cookieJar()
      const username = uniqueName()
      const user = await (await callerFor(db, { jar })).auth.register({
        email: `  ${username.toUpperCase()}@Example.TEST `,
        username,
        name: 'New Person',
        password: TEST_PASSWORD,
      })
      expect(user).toMatchObject({ username, email: `${username}@example.test`, name: 'New Person' })
      expect(user).not.toHaveProperty('passwordHash')

      const token = jar.get(SESSION_COOKIE)!
      expect(token).toMatch(/^[a-z2-7]{32}$/)
      expect(jar.sent[0]!.opts.expires!.getTime()).toBeGreaterThan(Date.now() + 29 * DAY)

      const rows = await db.prisma.session.findMany({ where: { userId: user.id } })
      expect(rows).toHaveLength(1)
      expect(rows[0]!.id).toBe(sha256Hex(token))
      expect(rows[0]!.id).not.toContain(token)

      const stored = await db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })
      expect(stored.passwordHash).toMatch(/^\$argon2id\$/)
      expect(stored.passwordHash).not.toContain(TEST_PASSWORD)

      expect(await (await callerFor(db, { jar })).auth.me()).toMatchObject({ id: user.id })
    })

    it('rejects a taken email with CONFLICT on the email field (case-insensitive)', async () => {
      const anon = await callerFor(db)
      const f = await failure(anon.auth.register({
        email: alice.user.email.toUpperCase(),
        username: uniqueName(),
        name: 'Copycat',
        password: TEST_PASSWORD,
      }))
      expect(f.code).toBe('CONFLICT')
      expect(Object.keys(f.fieldErrors!)).toEqual(['email'])
    })

    it('rejects a taken username with CONFLICT on the username field', async () => {
      const anon = await callerFor(db)
      const jar = cookieJar()
      const f = await failure((await callerFor(db, { jar })).auth.register({
        email: `${uniqueName()}@example.test`,
        username: alice.user.username,
        name: 'Copycat',
        password: TEST_PASSWORD,
      }))
      expect(f.code).toBe('CONFLICT')
      expect(Object.keys(f.fieldErrors!)).toEqual(['username'])
      expect(f.message).toContain(alice.user.username)
      expect(jar.get(SESSION_COOKIE)).toBeUndefined()
      await expect(anon.auth.me()).resolves.toBeNull()
    })

    it('two simultaneous sign-ups for one username: one account, the other gets CONFLICT', async () => {
      const username = uniqueName()
      const attempt = async (n: number) => (await callerFor(db)).auth.register({ email: `${username}.${n}@example.test`, username, name: `Racer ${n}`, password: TEST_PASSWORD })
      const results = await Promise.allSettled([attempt(1), attempt(2)])
      expect(results.map(r => r.status).sort()).toEqual(['fulfilled', 'rejected'])
      const rejected = results.find(r => r.status === 'rejected')!
      expect((await failure(Promise.reject((rejected as PromiseRejectedResult).reason))).code).toBe('CONFLICT')
      expect(await db.prisma.user.count({ where: { username } })).toBe(1)
    })

    it('rejects a short password and an invalid email with BAD_REQUEST and field errors', async () => {
      const anon = await callerFor(db)
      const username = uniqueName()
      const short = await failure(anon.auth.register({ email: `${username}@example.test`, username, name: 'X', password: 'short' }))
      expect(short.code).toBe('BAD_REQUEST')
      expect(Object.keys(short.fieldErrors!)).toEqual(['password'])
      expect(short.fieldErrors!.password![0]).toMatch(/10 characters/)

      const email = await failure(anon.auth.register({ email: 'not-an-email', username, name: 'X', password: TEST_PASSWORD }))
      expect(email.code).toBe('BAD_REQUEST')
      expect(Object.keys(email.fieldErrors!)).toEqual(['email'])
      expect(await db.prisma.user.count({ where: { username } })).toBe(0)
    })
  })

  describe('login', () => {
    it('signs in by email and by username, each with its own new session', async () => {
      const byEmail = cookieJar()
      const user = await (await callerFor(db, { jar: byEmail })).auth.login({ login: alice.user.email.toUpperCase(), password: TEST_PASSWORD })
      expect(user).toMatchObject({ id: alice.user.id, username: alice.user.username })
      expect(user).not.toHaveProperty('passwordHash')

      const byUsername = cookieJar()
      await (await callerFor(db, { jar: byUsername })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })

      const a = byEmail.get(SESSION_COOKIE)!
      const b = byUsername.get(SESSION_COOKIE)!
      expect(a).not.toBe(b)
      expect(await sessionOf(a)).toMatchObject({ userId: alice.user.id })
      expect(await sessionOf(b)).toMatchObject({ userId: alice.user.id })
      expect((await (await callerFor(db, { jar: byUsername })).auth.me())?.id).toBe(alice.user.id)
    })

    it('rejects a wrong password or an unknown account with the same UNAUTHORIZED error', async () => {
      const jar = cookieJar()
      const caller = await callerFor(db, { jar })
      const wrong = await failure(caller.auth.login({ login: alice.user.username, password: 'wrong-password-123' }))
      expect(wrong.code).toBe('UNAUTHORIZED')
      const unknown = await failure(caller.auth.login({ login: uniqueName('ghost'), password: TEST_PASSWORD }))
      expect(unknown.code).toBe('UNAUTHORIZED')
      expect(unknown.message).toBe(wrong.message)
      expect(jar.get(SESSION_COOKIE)).toBeUndefined()
      loginLimits.account.reset(alice.user.id)
    })

    it('rotates: signing in with an old session cookie ends that session', async () => {
      const jar = cookieJar()
      await (await callerFor(db, { jar })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })
      const old = jar.get(SESSION_COOKIE)!

      await (await callerFor(db, { jar })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })
      const fresh = jar.get(SESSION_COOKIE)!
      expect(fresh).not.toBe(old)
      expect(await sessionOf(old)).toBeNull()
      expect(await sessionOf(fresh)).not.toBeNull()

      const stale = cookieJar()
      stale.values.set(SESSION_COOKIE, old)
      expect(await (await callerFor(db, { jar: stale })).auth.me()).toBeNull()
      expect(stale.get(SESSION_COOKIE)).toBeUndefined()
    })
  })

  it('logout deletes the session and clears the cookie', async () => {
    const jar = cookieJar()
    await (await callerFor(db, { jar })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })
    const token = jar.get(SESSION_COOKIE)!

    await expect((await callerFor(db, { jar })).auth.logout()).resolves.toEqual({ ok: true })
    expect(jar.get(SESSION_COOKIE)).toBeUndefined()
    expect(jar.sent.at(-1)).toMatchObject({ name: SESSION_COOKIE, value: '' })
    expect(await sessionOf(token)).toBeNull()

    const replay = cookieJar()
    replay.values.set(SESSION_COOKIE, token)
    const caller = await callerFor(db, { jar: replay })
    expect(await caller.auth.me()).toBeNull()
    expect((await failure(caller.project.list())).code).toBe('UNAUTHORIZED')
    // Other sessions of the same user stay signed in.
    expect((await alice.caller.auth.me())?.id).toBe(alice.user.id)
  })

  it('logout needs a session', async () => {
    expect((await failure((await callerFor(db)).auth.logout())).code).toBe('UNAUTHORIZED')
  })

  it('me returns the signed-in user, or null for guests and malformed cookies', async () => {
    expect(await alice.caller.auth.me()).toEqual({
      id: alice.user.id,
      email: alice.user.email,
      username: alice.user.username,
      name: 'Alice Example',
      status: 'AVAILABLE',
      timezone: 'UTC',
    })
    expect(await (await callerFor(db)).auth.me()).toBeNull()
    const garbage = cookieJar()
    garbage.values.set(SESSION_COOKIE, 'not a token')
    expect(await (await callerFor(db, { jar: garbage })).auth.me()).toBeNull()
  })

  it('rejects an expired session, deletes it and clears the cookie', async () => {
    const jar = cookieJar()
    await (await callerFor(db, { jar })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })
    const token = jar.get(SESSION_COOKIE)!
    await db.prisma.session.update({ where: { id: sha256Hex(token) }, data: { expiresAt: new Date(Date.now() - 1000) } })

    const caller = await callerFor(db, { jar })
    expect(await caller.auth.me()).toBeNull()
    expect((await failure(caller.project.list())).code).toBe('UNAUTHORIZED')
    expect(jar.get(SESSION_COOKIE)).toBeUndefined()
    expect(await sessionOf(token)).toBeNull()
  })

  it('slides: a session with less than 15 days left is extended to 30 days and the cookie is sent again', async () => {
    const jar = cookieJar()
    await (await callerFor(db, { jar })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })
    const token = jar.get(SESSION_COOKIE)!

    // 20 days left: used, but not renewed.
    await db.prisma.session.update({ where: { id: sha256Hex(token) }, data: { expiresAt: new Date(Date.now() + 20 * DAY) } })
    let sent = jar.sent.length
    expect((await (await callerFor(db, { jar })).auth.me())?.id).toBe(alice.user.id)
    expect(jar.sent.length).toBe(sent)
    expect((await sessionOf(token))!.expiresAt.getTime()).toBeLessThan(Date.now() + 21 * DAY)

    // 10 days left: renewed.
    await db.prisma.session.update({ where: { id: sha256Hex(token) }, data: { expiresAt: new Date(Date.now() + 10 * DAY) } })
    sent = jar.sent.length
    expect((await (await callerFor(db, { jar })).auth.me())?.id).toBe(alice.user.id)
    const renewed = (await sessionOf(token))!.expiresAt.getTime()
    expect(renewed).toBeGreaterThan(Date.now() + 29 * DAY)
    expect(jar.sent.slice(sent)).toEqual([{ name: SESSION_COOKIE, value: token, opts: { expires: new Date(renewed) } }])
  })

  describe('rate limits', () => {
    it('limits sign-in attempts per IP, whatever the account', async () => {
      const ip = '203.0.113.10'
      const caller = await callerFor(db, { ip })
      for (let i = 0; i < 20; i++) {
        expect((await failure(caller.auth.login({ login: uniqueName('nobody'), password: 'wrong-password' }))).code).toBe('UNAUTHORIZED')
      }
      // Even the right password is refused now, with a hint when to retry.
      const limited = await failure(caller.auth.login({ login: alice.user.username, password: TEST_PASSWORD }))
      expect(limited.code).toBe('TOO_MANY_REQUESTS')
      expect(limited.data.details).toEqual({ retryAfterSeconds: expect.any(Number) })
      expect(limited.data.details!.retryAfterSeconds).toBeGreaterThan(0)

      // Another network is not affected.
      await expect((await callerFor(db, { ip: '203.0.113.11' })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })).resolves.toMatchObject({ id: alice.user.id })

      loginLimits.ip.reset(ip)
      await expect(caller.auth.login({ login: alice.user.username, password: TEST_PASSWORD })).resolves.toMatchObject({ id: alice.user.id })
    })

    it('limits sign-in attempts per account, across IPs', async () => {
      const bob = await signUp(db)
      for (let i = 0; i < 5; i++) {
        const caller = await callerFor(db, { ip: `198.51.100.${i}` })
        expect((await failure(caller.auth.login({ login: bob.user.username, password: 'wrong-password' }))).code).toBe('UNAUTHORIZED')
      }
      const limited = await failure((await callerFor(db, { ip: '198.51.100.99' })).auth.login({ login: bob.user.username, password: TEST_PASSWORD }))
      expect(limited.code).toBe('TOO_MANY_REQUESTS')
      expect(limited.message).toMatch(/this account/)

      // Other accounts can still sign in from the same place.
      await expect((await callerFor(db, { ip: '198.51.100.99' })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })).resolves.toBeTruthy()
    })

    it('counts attempts by email and by username against the same account', async () => {
      const dave = await signUp(db)
      for (let i = 0; i < 5; i++) {
        const login = i % 2 ? dave.user.email : dave.user.username
        expect((await failure((await callerFor(db)).auth.login({ login, password: 'wrong-password' }))).code).toBe('UNAUTHORIZED')
      }
      for (const login of [dave.user.email, dave.user.username.toUpperCase()]) {
        expect((await failure((await callerFor(db)).auth.login({ login, password: TEST_PASSWORD }))).code).toBe('TOO_MANY_REQUESTS')
      }
    })

    it('a successful sign-in resets the account budget', async () => {
      const carol = await signUp(db)
      const attempt = async (password: string) => (await callerFor(db)).auth.login({ login: carol.user.username, password })
      for (let i = 0; i < 4; i++) await expect(attempt('wrong-password')).rejects.toThrow()
      await expect(attempt(TEST_PASSWORD)).resolves.toBeTruthy()
      for (let i = 0; i < 4; i++) expect((await failure(attempt('wrong-password'))).code).toBe('UNAUTHORIZED')
    })
  })
})
