// Caps on sockets per user and per address (in process and across instances over Redis), the
// authentication timeout, the per-socket message rate under a PING flood, and the send budget.
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLOSE_SLOW_CONSUMER, SendGate, sendLimits } from '../../server/realtime/fanout'
import { CLOSE_TOO_MANY_MESSAGES } from '../../server/realtime/frameGuard'
import { MemoryRevocationBus } from '../../server/realtime/revocation'
import { readSocketMetrics } from '../../server/realtime/socketMetrics'
import { CLOSE_AUTH_TIMEOUT, CLOSE_TOO_MANY_SOCKETS } from '../../server/realtime/socketRegistry'
import { MemorySocketSlots, RedisSocketSlots } from '../../server/realtime/socketSlots'
import type { Database } from '../../server/utils/db'
import { signUp } from '../factories'
import { listenSockets, TestSocket, within, type SocketServer } from '../factories/sockets'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const cookieOf = (u: { jar: { values: Map<string, string> } }) => `tt_session=${u.jar.values.get('tt_session')}`

/** Resolves with the close the server sends, as the client sees it. */
const closeOf = (s: TestSocket) => within(5_000, s.closed, 'close')

describe.runIf(databaseAvailable)('socket caps and the authentication timeout', () => {
  let db: Database
  const servers: SocketServer[] = []
  const sockets: TestSocket[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    for (const s of sockets) s.socket.terminate()
    for (const s of servers) await s.close()
    await db?.close()
  })

  async function server(limits: { maxPerUser?: number, maxPerIp?: number, authTimeoutMs?: number }) {
    const s = await listenSockets(db, { revocations: new MemoryRevocationBus(), slots: new MemorySocketSlots(), limits: { recheckMs: 0, authTimeoutMs: 60_000, ...limits } })
    servers.push(s)
    return s
  }
  async function open(s: SocketServer, auth: { cookie?: string, token?: string } = {}) {
    const socket = await TestSocket.open(s.url, auth)
    sockets.push(socket)
    return socket
  }

  it('refuses a user\'s socket over WS_MAX_PER_USER with 4429; a slot frees when one closes', async () => {
    const s = await server({ maxPerUser: 3 })
    const alice = await signUp(db)
    const bob = await signUp(db)
    const before = readSocketMetrics().refusedPerUser
    const three = await Promise.all([1, 2, 3].map(() => open(s, { cookie: cookieOf(alice) })))
    for (const socket of three) expect((await socket.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: alice.user.id })
    // The fourth, by cookie or by API token, is refused.
    const fourth = await open(s, { cookie: cookieOf(alice) })
    expect(await closeOf(fourth)).toEqual({ code: CLOSE_TOO_MANY_SOCKETS, reason: 'Too many connections for this account (at most 3)' })
    const { token } = await alice.caller.apiToken.create({ name: 'x' })
    expect((await closeOf(await open(s, { token }))).code).toBe(CLOSE_TOO_MANY_SOCKETS)
    expect(readSocketMetrics().refusedPerUser).toBe(before + 2)
    // Another user is not affected.
    expect((await (await open(s, { cookie: cookieOf(bob) })).call('query', 'auth.me')).result?.data.json).toMatchObject({ id: bob.user.id })
    three[0]!.socket.close()
    await three[0]!.closed
    await new Promise(resolve => setImmediate(resolve))
    const again = await open(s, { cookie: cookieOf(alice) })
    expect((await again.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: alice.user.id })
  })

  it('refuses sockets from one address over WS_MAX_PER_IP with 4429, signed in or not', async () => {
    const s = await server({ maxPerIp: 4 })
    const before = readSocketMetrics().refusedPerIp
    const four = await Promise.all([1, 2, 3, 4].map(() => open(s)))
    for (const socket of four) expect((await socket.call('query', 'auth.me')).result?.data.json).toBeNull()
    const carol = await signUp(db)
    const fifth = await open(s, { cookie: cookieOf(carol) })
    expect(await closeOf(fifth)).toEqual({ code: CLOSE_TOO_MANY_SOCKETS, reason: 'Too many connections from your address (at most 4)' })
    expect(readSocketMetrics().refusedPerIp).toBe(before + 1)
  })

  it('closes a socket that does not authenticate in time with 4408; cookie and token sockets stay', async () => {
    const s = await server({ authTimeoutMs: 300 })
    const dave = await signUp(db)
    const { token } = await dave.caller.apiToken.create({ name: 'service' })
    const before = readSocketMetrics().closedAuthTimeout
    const tab = await open(s, { cookie: cookieOf(dave) })
    const service = await open(s, { token })
    // Opened last: when it is closed, the others have been open longer than the timeout.
    const anonymous = await open(s)
    // connectionParams announced (?connectionParams=1) but never sent:
    const silent = new TestSocket(`${s.url}?connectionParams=1`)
    sockets.push(silent)
    expect(await closeOf(anonymous)).toEqual({ code: CLOSE_AUTH_TIMEOUT, reason: 'Not signed in within 0.3 s' })
    expect((await closeOf(silent)).code).toBe(CLOSE_AUTH_TIMEOUT)
    expect(readSocketMetrics().closedAuthTimeout).toBe(before + 2)
    expect((await tab.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: dave.user.id })
    expect((await service.call('query', 'auth.me')).result?.data.json).toMatchObject({ id: dave.user.id })
  })

  it('counts open sockets', async () => {
    const s = await server({})
    const base = readSocketMetrics()
    const socket = await open(s)
    await socket.call('query', 'auth.me')
    expect(readSocketMetrics().open).toBe(base.open + 1)
    expect(readSocketMetrics().opened).toBe(base.opened + 1)
    socket.socket.close()
    await socket.closed
    await new Promise(resolve => setImmediate(resolve))
    expect(readSocketMetrics().open).toBe(base.open)
  })
})

describe.runIf(databaseAvailable)('PING floods and the send budget', () => {
  let db: Database
  let s: SocketServer

  beforeAll(async () => {
    db = await createTestDatabase()
    s = await listenSockets(db, { revocations: new MemoryRevocationBus(), slots: new MemorySocketSlots(), limits: { recheckMs: 0, authTimeoutMs: 60_000, maxPerIp: 1_000 } })
  })
  afterAll(async () => {
    await s?.close()
    await db?.close()
  })

  it('closes each of 30 sockets that flood PING without reading, and their queues stay small', async () => {
    const before = readSocketMetrics().closedFlood
    const first = s.serverSockets.length
    const clients = await Promise.all(Array.from({ length: 30 }, () => TestSocket.open(s.url)))
    const server = s.serverSockets.slice(first)
    expect(server).toHaveLength(30)
    let maxQueued = 0
    const closed = server.map(socket => new Promise<void>(resolve => socket.once('close', () => resolve())))
    for (const socket of server) {
      socket.on('message', () => {
        maxQueued = Math.max(maxQueued, socket.bufferedAmount)
      })
    }
    for (const client of clients) {
      // Never reads: everything the server answers stays queued on its side.
      ;(client.socket as unknown as { _socket: { pause: () => void } })._socket.pause()
      for (let i = 0; i < 5_000; i++) client.socket.send('PING')
    }
    await within(20_000, Promise.all(closed), 'every flooding socket closed')
    expect(readSocketMetrics().closedFlood).toBe(before + 30)
    // Each answered at most its burst of PONGs (6 bytes each) before it was closed.
    expect(maxQueued).toBeLessThan(64 * 1024)
    for (const client of clients) client.socket.terminate()
  })

  it('a well-behaved client under the rate is not closed', async () => {
    const client = await TestSocket.open(s.url)
    for (let i = 0; i < 50; i++) client.socket.send('PING')
    await client.waitFor(() => client.frames.filter(f => f === 'PONG').length === 50)
    expect(client.socket.readyState).toBe(1)
    expect((await client.call('query', 'auth.me')).result?.data.json).toBeNull()
    client.socket.close()
  })

  it('the send gate counts queued writes, not only their bytes: a flood of tiny frames to a stalled reader is closed with 4008', async () => {
    const first = s.serverSockets.length
    const client = await TestSocket.open(s.url)
    ;(client.socket as unknown as { _socket: { pause: () => void } })._socket.pause()
    const socket = s.serverSockets[first]!
    const gate = new SendGate(socket)
    // Fill the kernel's buffers first, with big frames, until `ws` starts queueing.
    const big = 'x'.repeat(64 * 1024)
    while (socket.bufferedAmount === 0) gate.send(big)
    const base = socket.bufferedAmount
    expect(base).toBeLessThan(sendLimits.softBytes)
    let sent = 0
    while (sent < 100_000 && gate.send('"tiny"')) sent++
    // 100,000 tiny frames are 800 KB on the wire but far more in memory: the gate stops well before.
    expect(gate.closedSlow).toBe(true)
    expect(sent).toBeLessThan(100_000)
    const closedOnServer = new Promise<number>(resolve => socket.once('close', code => resolve(code)))
    await within(5_000, closedOnServer, 'slow consumer terminated')
    expect(CLOSE_SLOW_CONSUMER).toBe(4008)
    client.socket.terminate()
  })

  it('refuses flooding clients with 4029 when they do read', async () => {
    const client = await TestSocket.open(s.url)
    for (let i = 0; i < 1_000; i++) client.socket.send('PING')
    expect((await closeOf(client)).code).toBe(CLOSE_TOO_MANY_MESSAGES)
  })
})

describe.runIf(databaseAvailable && redisAvailable())('socket caps across instances (Redis)', () => {
  let db: Database
  let redis: RedisServer
  let slotsA: RedisSocketSlots
  let slotsB: RedisSocketSlots
  let a: SocketServer
  let b: SocketServer

  beforeAll(async () => {
    db = await createTestDatabase()
    redis = await startRedis()
    slotsA = new RedisSocketSlots(redis.url, { name: 'test-slots-a' })
    slotsB = new RedisSocketSlots(redis.url, { name: 'test-slots-b' })
    await Promise.all([slotsA.ready(), slotsB.ready()])
    a = await listenSockets(db, { revocations: new MemoryRevocationBus(), slots: slotsA, limits: { recheckMs: 0, maxPerUser: 2 } })
    b = await listenSockets(db, { revocations: new MemoryRevocationBus(), slots: slotsB, limits: { recheckMs: 0, maxPerUser: 2 } })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await slotsA?.close()
    await slotsB?.close()
    await redis?.stop()
    await db?.close()
  })

  it('a user\'s sockets on two instances share WS_MAX_PER_USER', async () => {
    const erin = await signUp(db)
    const onA = await TestSocket.open(a.url, { cookie: cookieOf(erin) })
    const onB = await TestSocket.open(b.url, { cookie: cookieOf(erin) })
    await onA.call('query', 'auth.me')
    await onB.call('query', 'auth.me')
    const third = await TestSocket.open(a.url, { cookie: cookieOf(erin) })
    expect((await closeOf(third)).code).toBe(CLOSE_TOO_MANY_SOCKETS)
    // Closing the one on B frees a slot for A.
    onB.socket.close()
    await onB.closed
    await vi.waitFor(async () => {
      const next = await TestSocket.open(a.url, { cookie: cookieOf(erin) })
      expect(await Promise.race([next.call('query', 'auth.me'), next.closed.then(() => null)])).toBeTruthy()
    }, { timeout: 10_000, interval: 50 })
    onA.socket.close()
  })

  it('the entries of a crashed instance lapse after their TTL', async () => {
    const crashed = new RedisSocketSlots(redis.url, { name: 'test-slots-crashed', ttlMs: 300 })
    await crashed.ready()
    expect(await crashed.acquire('user:crash-test', 'c1', 1)).toBe(true)
    expect(await slotsA.acquire('user:crash-test', 'a1', 1)).toBe(false)
    // The instance dies without releasing (its heartbeat stops with it).
    await crashed.close()
    await vi.waitFor(async () => expect(await slotsA.acquire('user:crash-test', 'a1', 1)).toBe(true), { timeout: 10_000, interval: 50 })
    slotsA.release('user:crash-test', 'a1')
  })

  it('the heartbeat pushes live entries forward, and only those still held', async () => {
    const live = new RedisSocketSlots(redis.url, { name: 'test-slots-live', ttlMs: 60_000, heartbeatMs: 3_600_000 })
    await live.ready()
    const raw = new Redis(redis.url)
    try {
      expect(await live.acquire('user:hb-test', 'l1', 5)).toBe(true)
      expect(await live.acquire('user:hb-test', 'l2', 5)).toBe(true)
      // As if both were about to lapse; l2's socket then closes.
      await raw.zadd('tt:ws:slots:user:hb-test', 1, 'l1', 1, 'l2')
      live.release('user:hb-test', 'l2')
      await live.heartbeat()
      expect(Number(await raw.zscore('tt:ws:slots:user:hb-test', 'l1'))).toBeGreaterThan(Date.now() + 30_000)
      expect(await raw.zscore('tt:ws:slots:user:hb-test', 'l2')).toBeNull()
    }
    finally {
      raw.disconnect()
      await live.close()
    }
  })
})
