// Revoking a credential ends its sockets: API token revocation, sign-out (cookie and ticket
// sockets), password change, session expiry (periodic re-check), and across instances over Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryRevocationBus, RedisRevocationBus } from '../../server/realtime/revocation'
import { CLOSE_UNAUTHORIZED } from '../../server/realtime/socketRegistry'
import { readSocketMetrics } from '../../server/realtime/socketMetrics'
import { MemorySocketSlots } from '../../server/realtime/socketSlots'
import { createWsContext } from '../../server/realtime/wsContext'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { callerFor, cookieJar, failure, projectWithTeam, sha256Hex, signUp, taskInput, TEST_PASSWORD } from '../factories'
import { listenSockets, TestSocket, within, type SocketServer } from '../factories/sockets'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const cookieOf = (u: { jar: { values: Map<string, string> } }) => `tt_session=${u.jar.values.get('tt_session')}`
const CLOSE_WITHIN_MS = 5_000

describe.runIf(databaseAvailable)('a revoked credential ends its sockets', () => {
  let db: Database
  let server: SocketServer
  let bus: MemoryRevocationBus
  let restore: (() => void) | undefined
  const sockets: TestSocket[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    bus = new MemoryRevocationBus()
    restore = installTestServices({ revocations: bus }).restore
    // No periodic re-check here: what closes these sockets is the revocation on the bus.
    server = await listenSockets(db, { revocations: bus, slots: new MemorySocketSlots(), limits: { recheckMs: 0, authTimeoutMs: 60_000 } })
  })
  afterAll(async () => {
    for (const s of sockets) s.socket.terminate()
    await server?.close()
    restore?.()
    await db?.close()
  })

  async function open(auth: { cookie?: string, token?: string }) {
    const socket = await TestSocket.open(server.url, auth)
    sockets.push(socket)
    return socket
  }

  async function signedIn(socket: TestSocket, userId: string) {
    const me = await socket.call('query', 'auth.me')
    expect(me.result?.data.json).toMatchObject({ id: userId })
  }

  it('revoking an API token closes its socket with 4401 within seconds; it receives nothing more', async () => {
    const { owner, project } = await projectWithTeam(db)
    const { id: tokenId, token } = await owner.caller.apiToken.create({ name: 'service' })
    const socket = await open({ token })
    await signedIn(socket, owner.user.id)
    const sub = socket.subscribe('project.onEvent', { projectId: project.id })
    await socket.started(sub)
    await owner.caller.task.create(taskInput(project.id))
    await socket.waitFor(f => f.startsWith(`{"id":${sub},"result":{"type":"data"`))
    const before = readSocketMetrics().closedRevoked

    await owner.caller.apiToken.revoke({ id: tokenId })
    const closed = await within(CLOSE_WITHIN_MS, socket.closed, 'close after revocation')
    expect(closed).toEqual({ code: CLOSE_UNAUTHORIZED, reason: 'Signed out: sign in again' })
    expect(readSocketMetrics().closedRevoked).toBe(before + 1)
    const received = socket.dataFrames(sub).length
    await owner.caller.task.create(taskInput(project.id))
    expect(socket.dataFrames(sub)).toHaveLength(received)
    // A new socket with the revoked token is not signed in.
    const again = await open({ token })
    expect((await again.call('query', 'auth.me')).result?.data.json).toBeNull()
  })

  it('a socket whose token was revoked runs nothing it sends after the revocation', async () => {
    const { owner, project } = await projectWithTeam(db)
    const { id: tokenId, token } = await owner.caller.apiToken.create({ name: 'writer' })
    const socket = await open({ token })
    await signedIn(socket, owner.user.id)
    await owner.caller.apiToken.revoke({ id: tokenId })
    // Sent at once, before the close handshake can finish: the server must not run it.
    socket.send({ id: 99, method: 'mutation', params: { path: 'task.create', input: { json: taskInput(project.id, { title: 'after revoke' }) } } })
    expect((await within(CLOSE_WITHIN_MS, socket.closed, 'close')).code).toBe(CLOSE_UNAUTHORIZED)
    const tasks = await owner.caller.task.list({ projectId: project.id })
    expect(tasks.map(t => t.title)).not.toContain('after revoke')
  })

  it('signing out closes the session\'s cookie sockets, and only those', async () => {
    const alice = await signUp(db)
    const otherTab = { jar: cookieJar() }
    await (await callerFor(db, { jar: otherTab.jar })).auth.login({ login: alice.user.username, password: TEST_PASSWORD })
    const socket = await open({ cookie: cookieOf(alice) })
    const other = await open({ cookie: cookieOf(otherTab) })
    await signedIn(socket, alice.user.id)
    await signedIn(other, alice.user.id)

    await alice.caller.auth.logout()
    expect((await within(CLOSE_WITHIN_MS, socket.closed, 'close after logout')).code).toBe(CLOSE_UNAUTHORIZED)
    // The other session (another browser) stays signed in and served.
    await signedIn(other, alice.user.id)
  })

  it('a socket opened with a ticket closes when the session that minted the ticket signs out', async () => {
    const bob = await signUp(db)
    const { ticket } = await bob.caller.auth.wsTicket()
    const claims = JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    expect(claims.sid).toBe(sha256Hex(bob.jar.values.get('tt_session')!))
    const socket = await open({ token: ticket })
    await signedIn(socket, bob.user.id)

    await bob.caller.auth.logout()
    expect((await within(CLOSE_WITHIN_MS, socket.closed, 'close after logout')).code).toBe(CLOSE_UNAUTHORIZED)
    // A ticket minted by that session before it ended opens nothing any more.
    const late = await open({ token: ticket })
    expect((await late.call('query', 'auth.me')).result?.data.json).toBeNull()
  })

  it('a ticket minted with an API token closes with that token', async () => {
    const carol = await signUp(db)
    const { id, token } = await carol.caller.apiToken.create({ name: 'ticket minter' })
    const { ticket } = await (await callerFor(db, { bearer: token })).auth.wsTicket()
    const socket = await open({ token: ticket })
    await signedIn(socket, carol.user.id)
    await carol.caller.apiToken.revoke({ id })
    expect((await within(CLOSE_WITHIN_MS, socket.closed, 'close after revoke')).code).toBe(CLOSE_UNAUTHORIZED)
  })

  it('limits guesses of the current password: the sixth in a row is refused, even when right', async () => {
    const erin = await signUp(db)
    for (let i = 0; i < 5; i++) {
      const wrong = await failure(erin.caller.auth.changePassword({ currentPassword: `guess number ${i}`, newPassword: 'a brand new password' }))
      expect(wrong.code).toBe('BAD_REQUEST')
    }
    const limited = await failure(erin.caller.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: 'a brand new password' }))
    expect(limited.code).toBe('TOO_MANY_REQUESTS')
    expect(limited.message).toMatch(/^Too many attempts at the current password\. Try again in \d+ minutes?\.$/)
    // Another user's budget is their own.
    const fay = await signUp(db)
    expect(await fay.caller.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: 'a brand new password' })).toEqual({ ok: true })
  })

  it('changing the password ends every other session and socket of the user, not the current one', async () => {
    const dave = await signUp(db)
    const laptop = cookieJar()
    await (await callerFor(db, { jar: laptop })).auth.login({ login: dave.user.username, password: TEST_PASSWORD })
    const { token } = await dave.caller.apiToken.create({ name: 'script' })
    const here = await open({ cookie: cookieOf(dave) })
    const there = await open({ cookie: `tt_session=${laptop.values.get('tt_session')}` })
    const script = await open({ token })
    for (const s of [here, there, script]) await signedIn(s, dave.user.id)

    const wrong = await failure(dave.caller.auth.changePassword({ currentPassword: 'not my password', newPassword: 'a brand new password' }))
    expect(wrong.code).toBe('BAD_REQUEST')
    expect(wrong.fieldErrors).toEqual({ currentPassword: ['The current password is not right'] })
    const same = await failure(dave.caller.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: TEST_PASSWORD }))
    expect(same.fieldErrors?.newPassword).toBeDefined()

    expect(await dave.caller.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: 'a brand new password' })).toEqual({ ok: true })
    expect((await within(CLOSE_WITHIN_MS, there.closed, 'other session socket')).code).toBe(CLOSE_UNAUTHORIZED)
    expect((await within(CLOSE_WITHIN_MS, script.closed, 'token socket')).code).toBe(CLOSE_UNAUTHORIZED)
    await signedIn(here, dave.user.id)
    expect(await (await callerFor(db, { jar: laptop })).auth.me()).toBeNull()
    expect(await dave.caller.auth.me()).toMatchObject({ id: dave.user.id })
    // The old password no longer signs in; the new one does.
    const anon = await callerFor(db)
    expect((await failure(anon.auth.login({ login: dave.user.username, password: TEST_PASSWORD }))).code).toBe('UNAUTHORIZED')
    expect(await anon.auth.login({ login: dave.user.username, password: 'a brand new password' })).toMatchObject({ id: dave.user.id })
  })

  it('credential procedures answer METHOD_NOT_SUPPORTED over a socket', async () => {
    const erin = await signUp(db)
    const ctx = await createWsContext({ db: db.prisma, env: { secureCookies: false }, headers: { cookie: cookieOf(erin) }, ip: '10.44.0.1', connectionParams: null })
    const overSocket = createCaller(ctx)
    for (const call of [
      () => overSocket.apiToken.list(),
      () => overSocket.apiToken.create({ name: 'x' }),
      () => overSocket.apiToken.revoke({ id: 'x' }),
      () => overSocket.auth.logout(),
      () => overSocket.auth.wsTicket(),
      () => overSocket.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: 'another password 1' }),
      () => overSocket.auth.login({ login: erin.user.username, password: TEST_PASSWORD }),
    ]) {
      const error = await failure(call())
      expect(error.code).toBe('METHOD_NOT_SUPPORTED')
      expect(error.message).toMatch(/works over HTTP only/)
    }
    // Still signed in over the socket, and over HTTP.
    expect(await overSocket.auth.me()).toMatchObject({ id: erin.user.id })
    expect(await erin.caller.apiToken.list()).toEqual([])
    // Over a real socket, the answer is a tRPC error frame.
    const socket = await open({ cookie: cookieOf(erin) })
    const answer = await socket.call('mutation', 'auth.logout')
    expect(answer.error?.json.data.code).toBe('METHOD_NOT_SUPPORTED')
  })
})

describe.runIf(databaseAvailable)('the periodic re-check', () => {
  let db: Database
  let server: SocketServer
  const bus = new MemoryRevocationBus()

  beforeAll(async () => {
    db = await createTestDatabase()
    server = await listenSockets(db, { revocations: bus, slots: new MemorySocketSlots(), limits: { recheckMs: 50, authTimeoutMs: 60_000 } })
  })
  afterAll(async () => {
    await server?.close()
    await db?.close()
  })

  it('closes a socket whose session expired (nothing on the bus)', async () => {
    const frank = await signUp(db)
    const grace = await signUp(db)
    const socket = await TestSocket.open(server.url, { cookie: cookieOf(frank) })
    const other = await TestSocket.open(server.url, { cookie: cookieOf(grace) })
    expect((await socket.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: frank.user.id })
    await other.call('query', 'auth.me')
    const sessionId = sha256Hex(frank.jar.values.get('tt_session')!)
    await db.prisma.session.update({ where: { id: sessionId }, data: { expiresAt: new Date(Date.now() - 1_000) } })
    expect((await within(CLOSE_WITHIN_MS, socket.closed, 'close after expiry')).code).toBe(CLOSE_UNAUTHORIZED)
    expect((await other.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: grace.user.id })
    other.socket.close()
  })

  it('closes a socket whose token was revoked while the bus message was lost, and one whose user is gone', async () => {
    const heidi = await signUp(db)
    const { id, token } = await heidi.caller.apiToken.create({ name: 'lost message' })
    const socket = await TestSocket.open(server.url, { token })
    expect((await socket.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: heidi.user.id })
    await db.prisma.apiToken.update({ where: { id }, data: { revokedAt: new Date() } })
    expect((await within(CLOSE_WITHIN_MS, socket.closed, 'close after silent revoke')).code).toBe(CLOSE_UNAUTHORIZED)

    const ivan = await signUp(db)
    const gone = await TestSocket.open(server.url, { cookie: cookieOf(ivan) })
    await gone.call('query', 'auth.me')
    await db.prisma.user.delete({ where: { id: ivan.user.id } })
    expect((await within(CLOSE_WITHIN_MS, gone.closed, 'close after user removal')).code).toBe(CLOSE_UNAUTHORIZED)
  })
})

describe.runIf(databaseAvailable && redisAvailable())('revocation across instances (Redis)', () => {
  let db: Database
  let redis: RedisServer
  let a: SocketServer
  let b: SocketServer
  let busA: RedisRevocationBus
  let busB: RedisRevocationBus
  let restore: (() => void) | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    redis = await startRedis()
    busA = new RedisRevocationBus(redis.url, { name: 'test-revoke-a' })
    busB = new RedisRevocationBus(redis.url, { name: 'test-revoke-b' })
    await Promise.all([busA.ready(), busB.ready()])
    // This process plays instance A: its services publish on A's bus.
    restore = installTestServices({ revocations: busA }).restore
    a = await listenSockets(db, { revocations: busA, slots: new MemorySocketSlots(), limits: { recheckMs: 0 } })
    b = await listenSockets(db, { revocations: busB, slots: new MemorySocketSlots(), limits: { recheckMs: 0 } })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    restore?.()
    await busA?.close()
    await busB?.close()
    await redis?.stop()
    await db?.close()
  })

  it('revoking a token on instance A closes its socket on instance B with 4401', async () => {
    const judy = await signUp(db)
    const { id, token } = await judy.caller.apiToken.create({ name: 'on B' })
    const onB = await TestSocket.open(b.url, { token })
    const cookieOnB = await TestSocket.open(b.url, { cookie: cookieOf(judy) })
    expect((await onB.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: judy.user.id })
    await cookieOnB.call('query', 'auth.me')
    expect(b.registry.count(judy.user.id)).toBe(2)
    expect(a.registry.count(judy.user.id)).toBe(0)

    await judy.caller.apiToken.revoke({ id })
    expect((await within(CLOSE_WITHIN_MS, onB.closed, 'close on B')).code).toBe(CLOSE_UNAUTHORIZED)
    // Signing out on A ends the cookie socket on B too.
    await judy.caller.auth.logout()
    expect((await within(CLOSE_WITHIN_MS, cookieOnB.closed, 'cookie socket on B')).code).toBe(CLOSE_UNAUTHORIZED)
  })
})
