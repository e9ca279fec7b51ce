import { randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecentRevocations } from '../../server/realtime/revocation'
import { createWsContext } from '../../server/realtime/wsContext'
import {
  AuthSecretSource,
  authSecrets,
  getOrCreateAppSecret,
  mintWsTicket,
  verifyWsTicket,
  WS_TICKET_AUDIENCE,
  WS_TICKET_ISSUER,
  WS_TICKET_SECRET_NAME,
  WS_TICKET_TYPE,
} from '../../server/services/wsTicket'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database, Db } from '../../server/utils/db'
import { callerFor, cookieJar, countingDb, failure, projectWithTeam, signUp, TEST_PASSWORD } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('WebSocket tickets (auth.wsTicket)', () => {
  let db: Database
  let team: Awaited<ReturnType<typeof projectWithTeam>>

  beforeAll(async () => {
    db = await createTestDatabase()
    team = await projectWithTeam(db)
  })
  afterAll(() => db?.close())

  /** A caller with the context a socket gets from its `connectionParams.token` (and cookie, if any). */
  async function socketWithToken(token: string | undefined, cookie?: string, client: Db = db.prisma) {
    const ctx = await createWsContext({
      db: client,
      env: { secureCookies: false },
      headers: cookie ? { cookie } : {},
      ip: `10.8.${randomBytes(1)[0]}.${randomBytes(1)[0]}`,
      connectionParams: token === undefined ? null : { token },
    })
    return { ctx, caller: createCaller(ctx) }
  }

  /** The socket is unauthenticated: nobody is signed in and protected calls answer UNAUTHORIZED. */
  async function expectUnauthenticated(token: string, cookie?: string) {
    const { ctx, caller } = await socketWithToken(token, cookie)
    expect(ctx.user).toBeNull()
    expect(await caller.auth.me()).toBeNull()
    expect((await failure(caller.project.list())).code).toBe('UNAUTHORIZED')
  }

  it('mints a 60-second ticket that signs a socket in as the user, without a cookie', async () => {
    const before = Date.now()
    const { ticket, expiresAt } = await team.owner.caller.auth.wsTicket()
    expect(ticket.split('.')).toHaveLength(3)
    expect(expiresAt).toBeInstanceOf(Date)
    expect(expiresAt.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 60_000)
    expect(expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 60_000)

    const { ctx, caller } = await socketWithToken(ticket)
    expect(ctx.user).toMatchObject({ id: team.owner.user.id, username: team.owner.user.username })
    expect(ctx.session).toBeNull()
    expect(ctx.socket).toBe(true)
    const projects = await caller.project.list()
    expect(projects.map(p => p.id)).toContain(team.project.id)
  })

  it('a ticket carries its user: the socket signs in with no database query', async () => {
    const { ticket } = await team.owner.caller.auth.wsTicket()
    const claims = JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    expect(claims.usr).toEqual({ email: team.owner.user.email, username: team.owner.user.username, name: team.owner.user.name, status: 'AVAILABLE', timezone: expect.any(String) })
    const { client, counter } = countingDb(db)
    // The control: the counter sees what a cookie socket reads.
    await socketWithToken(undefined, `tt_session=${team.owner.jar.values.get('tt_session')}`, client)
    expect(counter.queries).toBeGreaterThan(0)
    counter.queries = 0
    const { ctx } = await socketWithToken(ticket, undefined, client)
    expect(ctx.user).toEqual({ ...team.owner.user, status: 'AVAILABLE', timezone: expect.any(String) })
    expect(ctx.credential).toEqual({ sessionId: claims.sid, apiTokenId: undefined })
    expect(counter.queries).toBe(0)
  })

  it('with no database read, a ticket of a signed-out session or a revoked token is still refused', async () => {
    const ann = await signUp(db)
    const { ticket } = await ann.caller.auth.wsTicket()
    const { id, token } = await ann.caller.apiToken.create({ name: 'ticket minter' })
    const { ticket: tokenTicket } = await (await callerFor(db, { bearer: token })).auth.wsTicket()
    const { client, counter } = countingDb(db)
    expect((await socketWithToken(ticket, undefined, client)).ctx.user?.id).toBe(ann.user.id)
    expect((await socketWithToken(tokenTicket, undefined, client)).ctx.user?.id).toBe(ann.user.id)
    await ann.caller.apiToken.revoke({ id })
    await ann.caller.auth.logout()
    counter.queries = 0
    expect((await socketWithToken(ticket, undefined, client)).ctx.user).toBeNull()
    expect((await socketWithToken(tokenTicket, undefined, client)).ctx.user).toBeNull()
    expect(counter.queries).toBe(0)
  })

  it('after a password change, the user\'s tickets are checked against the database: the surviving session\'s opens, another\'s does not', async () => {
    const ben = await signUp(db)
    const laptop = cookieJar()
    await (await callerFor(db, { jar: laptop })).auth.login({ login: ben.user.username, password: TEST_PASSWORD })
    const here = await ben.caller.auth.wsTicket()
    const there = await (await callerFor(db, { jar: laptop })).auth.wsTicket()
    await ben.caller.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: 'a brand new password' })
    const { client, counter } = countingDb(db)
    expect((await socketWithToken(here.ticket, undefined, client)).ctx.user?.id).toBe(ben.user.id)
    expect(counter.queries).toBeGreaterThan(0)
    expect((await socketWithToken(there.ticket, undefined, client)).ctx.user).toBeNull()
  })

  it('remembers revocations for longer than a ticket lives, then forgets them', () => {
    let now = 1_000_000
    const recent = new RecentRevocations(75_000, () => now)
    recent.add({ sessionId: 's1' })
    recent.add({ apiTokenId: 't1' })
    recent.add({ userId: 'u1', exceptSessionId: 's9' })
    expect(recent.verdict({ userId: 'u2', sessionId: 's1' })).toBe('revoked')
    expect(recent.verdict({ userId: 'u2', apiTokenId: 't1' })).toBe('revoked')
    expect(recent.verdict({ userId: 'u1', sessionId: 's9' })).toBe('check')
    expect(recent.verdict({ userId: 'u2', sessionId: 's2' })).toBe('clear')
    now += 60_000
    recent.add({ sessionId: 's2' })
    now += 16_000
    // s1, t1 and u1 are 76 s old (past any ticket's life); s2 is 16 s old.
    expect(recent.verdict({ userId: 'u1', sessionId: 's1', apiTokenId: 't1' })).toBe('clear')
    expect(recent.verdict({ userId: 'u3', sessionId: 's2' })).toBe('revoked')
    expect(recent.size).toBe(1)
  })

  it('carries sub, audience, issuer and a unique jti; two tickets differ', async () => {
    const a = await team.owner.caller.auth.wsTicket()
    const b = await team.owner.caller.auth.wsTicket()
    expect(a.ticket).not.toBe(b.ticket)
    const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    const header = JSON.parse(Buffer.from(a.ticket.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>
    expect(header).toMatchObject({ alg: 'HS256', typ: WS_TICKET_TYPE })
    const ca = claims(a.ticket)
    expect(ca).toMatchObject({ sub: team.owner.user.id, aud: WS_TICKET_AUDIENCE, iss: WS_TICKET_ISSUER })
    expect(Number(ca.exp) - Number(ca.iat)).toBe(60)
    expect(typeof ca.jti).toBe('string')
    expect(ca.jti).not.toBe(claims(b.ticket).jti)
  })

  it('needs a signed-in caller; an API token may mint one too', async () => {
    const anon = await callerFor(db)
    expect((await failure(anon.auth.wsTicket())).code).toBe('UNAUTHORIZED')

    const member = await signUp(db)
    const { token } = await member.caller.apiToken.create({ name: 'socket client' })
    const viaToken = await callerFor(db, { bearer: token })
    const { ticket } = await viaToken.auth.wsTicket()
    const { ctx } = await socketWithToken(ticket)
    expect(ctx.user?.id).toBe(member.user.id)
  })

  it('still accepts a personal API token on the socket', async () => {
    const { token } = await team.owner.caller.apiToken.create({ name: 'ws' })
    const { ctx } = await socketWithToken(token)
    expect(ctx.user?.id).toBe(team.owner.user.id)
  })

  it('is not accepted as an HTTP Bearer', async () => {
    const { ticket } = await team.owner.caller.auth.wsTicket()
    const http = await callerFor(db, { bearer: ticket })
    expect(await http.auth.me()).toBeNull()
    expect((await failure(http.project.list())).code).toBe('UNAUTHORIZED')
  })

  it('expires after 60 s (checked with an injected clock)', async () => {
    const secret = await authSecrets.get(db.prisma)
    const issued = new Date('2030-01-01T12:00:00Z')
    const { ticket } = await mintWsTicket(secret, team.owner.user.id, issued)
    expect(await verifyWsTicket(secret, ticket, new Date(issued.getTime() + 1_000))).toBe(team.owner.user.id)
    expect(await verifyWsTicket(secret, ticket, new Date(issued.getTime() + 59_000))).toBe(team.owner.user.id)
    expect(await verifyWsTicket(secret, ticket, new Date(issued.getTime() + 66_000))).toBeNull()
    // Not yet valid either, when used long before it was issued.
    expect(await verifyWsTicket(secret, ticket, new Date(issued.getTime() - 3_600_000))).toBeNull()
  })

  it('an expired ticket leaves the socket unauthenticated, even with a valid cookie', async () => {
    const expired = await mintWsTicket(await authSecrets.get(db.prisma), team.owner.user.id, new Date(Date.now() - 120_000))
    expect(expired.expiresAt.getTime()).toBeLessThan(Date.now())
    await expectUnauthenticated(expired.ticket)
    await expectUnauthenticated(expired.ticket, `tt_session=${team.owner.jar.values.get('tt_session')}`)
  })

  it('refuses a ticket with another audience, issuer or type, or an over-long life', async () => {
    const secret = await authSecrets.get(db.prisma)
    const sign = (opts: { aud?: string, iss?: string, typ?: string, life?: number }) => new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: opts.typ ?? WS_TICKET_TYPE })
      .setSubject(team.owner.user.id)
      .setAudience(opts.aud ?? WS_TICKET_AUDIENCE)
      .setIssuer(opts.iss ?? WS_TICKET_ISSUER)
      .setJti('j-1')
      .setIssuedAt()
      .setExpirationTime(`${opts.life ?? 60}s`)
      .sign(secret)
    // The control: the same construction with the right claims is accepted.
    expect((await socketWithToken(await sign({}))).ctx.user?.id).toBe(team.owner.user.id)
    await expectUnauthenticated(await sign({ aud: 'tasktracker:api' }))
    await expectUnauthenticated(await sign({ iss: 'someone-else' }))
    await expectUnauthenticated(await sign({ typ: 'JWT' }))
    await expectUnauthenticated(await sign({ life: 86_400 }))
  })

  it('refuses a ticket signed with another secret, or naming an unknown user', async () => {
    await expectUnauthenticated((await mintWsTicket(randomBytes(32), team.owner.user.id)).ticket)
    await expectUnauthenticated((await mintWsTicket(await authSecrets.get(db.prisma), 'no-such-user')).ticket)
  })

  it('refuses garbage and unsigned tokens without failing', async () => {
    const { ticket } = await team.owner.caller.auth.wsTicket()
    const [header, payload] = ticket.split('.')
    const unsigned = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: WS_TICKET_TYPE })).toString('base64url'),
      payload,
      '',
    ].join('.')
    const tampered = [header, Buffer.from(JSON.stringify({ sub: 'someone-else', aud: WS_TICKET_AUDIENCE, iss: WS_TICKET_ISSUER })).toString('base64url'), ticket.split('.')[2]].join('.')
    for (const bad of ['garbage', 'a.b.c', '...', 'ttp_notarealtoken', unsigned, tampered, `${ticket}x`, 'x'.repeat(100_000)]) {
      await expectUnauthenticated(bad)
    }
  })
})

describe.runIf(databaseAvailable)('the ticket secret without AUTH_SECRET', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(() => db?.close())

  const env = (AUTH_SECRET?: string) => () => ({ AUTH_SECRET })
  const fromDb = () => getOrCreateAppSecret(db.prisma, WS_TICKET_SECRET_NAME)
  const anyDb = () => db.prisma

  it('AUTH_SECRET wins when set', async () => {
    const secret = 'x'.repeat(40)
    const source = new AuthSecretSource(env(secret), () => Promise.reject(new Error('not asked')))
    expect(Buffer.from(await source.get(anyDb())).toString()).toBe(secret)
  })

  it('is generated once and kept in the database: every instance adopts it, a ticket minted on one opens on the other', async () => {
    const a = new AuthSecretSource(env(), fromDb)
    const b = new AuthSecretSource(env(), fromDb)
    const [secretA, secretB] = await Promise.all([a.get(anyDb()), b.get(anyDb())])
    expect(Buffer.from(secretA).length).toBeGreaterThanOrEqual(32)
    expect(Buffer.from(secretB)).toEqual(Buffer.from(secretA))
    const stored = await db.prisma.appSecret.findUniqueOrThrow({ where: { name: WS_TICKET_SECRET_NAME } })
    expect(stored.value).toBe(Buffer.from(secretA).toString())
    const { ticket } = await mintWsTicket(secretA, 'user-1')
    expect(await verifyWsTicket(await b.get(anyDb()), ticket)).toBe('user-1')
    // A later start keeps it.
    expect(Buffer.from(await new AuthSecretSource(env(), fromDb).get(anyDb()))).toEqual(Buffer.from(secretA))
  })

  it('when the database cannot be read, tickets can be neither minted nor accepted, and it tries again later', async () => {
    let calls = 0
    const source = new AuthSecretSource(env(), async () => {
      calls++
      if (calls === 1) throw new Error('database down')
      return 'y'.repeat(43)
    })
    await expect(source.get(anyDb())).rejects.toThrow('database down')
    expect(Buffer.from(await source.get(anyDb())).toString()).toBe('y'.repeat(43))
  })
})
