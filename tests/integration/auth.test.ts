import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SESSION_COOKIE } from '../../server/services/session'
import { DEVICE_COOKIE, registerLimit, signInLimits } from '../../server/services/signInLimits'
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
      await signInLimits().account.reset(alice.user.id)
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

      await signInLimits().ip.reset(ip)
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
      expect(limited.message).toMatch(/^Too many sign-in attempts for this account\. Try again in 15 minutes, or sign in from a browser you have used with it before\.$/)
      expect(limited.data.details!.retryAfterSeconds).toBeGreaterThan(14 * 60)

      // Other accounts can still sign in from the same place.
      await expect((await callerFor(db, { ip: '198.51.100.99' })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })).resolves.toMatchObject({ id: alice.user.id })
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
      await expect(attempt(TEST_PASSWORD)).resolves.toMatchObject({ id: carol.user.id })
      for (let i = 0; i < 4; i++) expect((await failure(attempt('wrong-password'))).code).toBe('UNAUTHORIZED')
    })

    it('counts guesses made in parallel: a burst cannot slip past the limit while passwords are checked', async () => {
      const erin = await signUp(db)
      const results = await Promise.all(Array.from({ length: 12 }, async () => failure((await callerFor(db)).auth.login({ login: erin.user.username, password: 'wrong-password' }))))
      expect(results.filter(r => r.code === 'UNAUTHORIZED')).toHaveLength(5)
      expect(results.filter(r => r.code === 'TOO_MANY_REQUESTS')).toHaveLength(7)
    })

    it('limits sign-ups per IP (each hashes a password), with the seconds until the next one', async () => {
      expect(registerLimit()).toEqual({ points: 5, durationSeconds: 600 })
      const ip = '203.0.113.77'
      const attempt = async () => {
        const username = uniqueName('reg')
        return (await callerFor(db, { ip })).auth.register({ email: `${username}@example.test`, username, name: 'Reg', password: TEST_PASSWORD })
      }
      for (let i = 0; i < 5; i++) await expect(attempt()).resolves.toMatchObject({ name: 'Reg' })
      const before = await db.prisma.user.count()
      const limited = await failure(attempt())
      expect(limited.code).toBe('TOO_MANY_REQUESTS')
      expect(limited.message).toMatch(/^Too many new accounts from your network\. Try again in 10 minutes\.$/)
      expect(limited.data.details!.retryAfterSeconds).toBeGreaterThan(590)
      expect(limited.data.details!.retryAfterSeconds).toBeLessThanOrEqual(600)
      expect(await db.prisma.user.count()).toBe(before)
      // Another network can still sign up.
      await expect((await callerFor(db, { ip: '203.0.113.78' })).auth.register({ email: `${uniqueName()}@example.test`, username: uniqueName(), name: 'Other', password: TEST_PASSWORD })).resolves.toMatchObject({ name: 'Other' })
    })
  })

  describe('trusted devices (OWASP device cookies)', () => {
    /** The owner's browser: signed in once from home, so it holds a device cookie for the account. */
    async function ownerWithBrowser() {
      const owner = await signUp(db)
      const browser = cookieJar()
      await (await callerFor(db, { jar: browser, ip: '192.0.2.1' })).auth.login({ login: owner.user.username, password: TEST_PASSWORD })
      return { owner, browser }
    }
    const guess = async (login: string, ip: string, jar = cookieJar()) =>
      failure((await callerFor(db, { ip, jar })).auth.login({ login, password: 'wrong-password' }))

    it('signing in or up sets a long-lived device cookie bound to the account, fresh each time', async () => {
      const { owner, browser } = await ownerWithBrowser()
      const fromSignUp = owner.jar.sent.find(c => c.name === DEVICE_COOKIE)!
      const fromSignIn = browser.sent.find(c => c.name === DEVICE_COOKIE)!
      for (const cookie of [fromSignUp, fromSignIn]) {
        expect(cookie.value.split('.')).toEqual(['v1', owner.user.id, expect.stringMatching(/^[\w-]{22}$/), expect.stringMatching(/^[\w-]{43}$/)])
        expect(cookie.opts.expires!.getTime()).toBeGreaterThan(Date.now() + 179 * DAY)
      }
      expect(fromSignIn.value).not.toBe(fromSignUp.value)
    })

    it('the owner\'s known browser still signs in while the account is locked for everyone else', async () => {
      const { owner, browser } = await ownerWithBrowser()
      // An attacker guesses from several addresses until the account is locked for untrusted clients.
      for (let i = 0; i < 5; i++) expect((await guess(owner.user.username, `198.18.0.${i}`)).code).toBe('UNAUTHORIZED')
      const locked = await failure((await callerFor(db, { ip: '198.18.0.9' })).auth.login({ login: owner.user.username, password: TEST_PASSWORD }))
      expect(locked.code).toBe('TOO_MANY_REQUESTS')

      // The owner's browser is not affected — even behind the attacker's address, even after a typo.
      expect((await guess(owner.user.username, '198.18.0.9', browser)).code).toBe('UNAUTHORIZED')
      await expect((await callerFor(db, { jar: browser, ip: '198.18.0.9' })).auth.login({ login: owner.user.username, password: TEST_PASSWORD })).resolves.toMatchObject({ id: owner.user.id })
      expect(browser.get(SESSION_COOKIE)).toBeTruthy()

      // The owner signing in does not lift the lock for the attacker.
      expect((await guess(owner.user.username, '198.18.0.10')).code).toBe('TOO_MANY_REQUESTS')
    })

    it('a trusted device has its own budget of 5; past it, it counts as untrusted', async () => {
      const { owner, browser } = await ownerWithBrowser()
      for (let i = 0; i < 5; i++) expect((await guess(owner.user.username, '192.0.2.1', browser)).code).toBe('UNAUTHORIZED')
      // The device's budget is spent; the same browser now draws on the untrusted budgets (5 for the account here).
      for (let i = 0; i < 5; i++) expect((await guess(owner.user.username, '192.0.2.1', browser)).code).toBe('UNAUTHORIZED')
      const limited = await failure((await callerFor(db, { jar: browser, ip: '192.0.2.1' })).auth.login({ login: owner.user.username, password: TEST_PASSWORD }))
      expect(limited.code).toBe('TOO_MANY_REQUESTS')
    })

    it('a device cookie of another account, or a forged one, earns no trust', async () => {
      const { owner, browser } = await ownerWithBrowser()
      const attacker = await signUp(db)
      const [version, userId, nonce, signature] = browser.get(DEVICE_COOKIE)!.split('.')
      const forged = cookieJar()
      forged.values.set(DEVICE_COOKIE, [version, userId, `${nonce!.slice(0, -2)}AA`, signature].join('.'))
      const jars = [attacker.jar, forged]
      for (let i = 0; i < 5; i++) expect((await guess(owner.user.username, `198.18.1.${i}`, jars[i % 2])).code).toBe('UNAUTHORIZED')
      for (const jar of jars) {
        const refused = await failure((await callerFor(db, { jar, ip: '198.18.1.9' })).auth.login({ login: owner.user.username, password: TEST_PASSWORD }))
        expect(refused.code).toBe('TOO_MANY_REQUESTS')
      }
      await expect((await callerFor(db, { jar: browser })).auth.login({ login: owner.user.username, password: TEST_PASSWORD })).resolves.toMatchObject({ id: owner.user.id })
    })
  })
})
