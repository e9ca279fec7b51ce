// Graceful shutdown of the socket side: the drain closes every socket with 1012 spread over time,
// closes at once a socket that opens while it runs, takes the closed sockets out of presence,
// /api/ready turns 503, and the deadline exits (after flushing presence) when something hangs.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, createRouter, toNodeListener } from 'h3'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { PresenceHub } from '../../server/presence/hub'
import { MemoryPresenceStore } from '../../server/presence/store'
import { MemoryRevocationBus } from '../../server/realtime/revocation'
import { CLOSE_SERVICE_RESTART, SERVICE_RESTART_REASON, SocketDrain, startShutdown, useSocketDrain } from '../../server/realtime/shutdown'
import { MemorySocketSlots } from '../../server/realtime/socketSlots'
import type { Database } from '../../server/utils/db'
import { isShuttingDown, setShuttingDown } from '../../server/utils/lifecycle'
import { createReadyHandler, READY_RETRY_AFTER_SECONDS, type Readiness } from '../../server/utils/readiness'
import { projectWithTeam } from '../factories'
import { listenSockets, TestSocket, within, type SocketServer } from '../factories/sockets'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const cookieOf = (u: { jar: { values: Map<string, string> } }) => `tt_session=${u.jar.values.get('tt_session')}`

describe.runIf(databaseAvailable)('graceful shutdown of the sockets', () => {
  let db: Database
  const servers: SocketServer[] = []
  const sockets: TestSocket[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterEach(() => {
    setShuttingDown(false)
  })
  afterAll(async () => {
    for (const s of sockets) s.socket.terminate()
    await Promise.all(servers.map(s => s.close()))
    await db?.close()
  })

  async function serverWith(drain: SocketDrain) {
    const server = await listenSockets(db, { drain, revocations: new MemoryRevocationBus(), slots: new MemorySocketSlots(), limits: { recheckMs: 0, authTimeoutMs: 60_000 } })
    servers.push(server)
    return server
  }

  async function open(url: string, cookie?: string) {
    const socket = await TestSocket.open(url, { cookie })
    sockets.push(socket)
    return socket
  }

  it('closes every socket with 1012 "service restart", the first at once and the rest spread over the spread', async () => {
    const drain = new SocketDrain()
    const server = await serverWith(drain)
    const clients = await Promise.all(Array.from({ length: 20 }, () => open(server.url)))
    await vi.waitFor(() => expect(drain.size).toBe(20))

    const started = Date.now()
    const closedAt: number[] = []
    const done = drain.drain(600)
    expect(drain.isDraining).toBe(true)
    const closes = await Promise.all(clients.map(c => c.closed.then((closed) => {
      closedAt.push(Date.now() - started)
      return closed
    })))
    await within(2_000, done, 'drain resolves once every socket closed')
    expect(closes.every(c => c.code === CLOSE_SERVICE_RESTART && c.reason === SERVICE_RESTART_REASON)).toBe(true)
    expect(drain.size).toBe(0)
    closedAt.sort((a, b) => a - b)
    // Spread, not all in one instant: the last close comes most of the spread after the first.
    expect(closedAt.at(-1)! - closedAt[0]!).toBeGreaterThanOrEqual(400)
    expect(closedAt[0]!).toBeLessThan(300)
    // Calling it again is the same drain.
    await drain.drain(600)
  })

  it('closes at once a socket that opens while the drain runs; a drain of no sockets resolves at once', async () => {
    const drain = new SocketDrain()
    const server = await serverWith(drain)
    const first = await open(server.url)
    await vi.waitFor(() => expect(drain.size).toBe(1))
    const done = drain.drain(60_000)
    expect(await within(2_000, first.closed, 'first socket')).toMatchObject({ code: CLOSE_SERVICE_RESTART })
    await done
    const late = await open(server.url)
    expect(await within(2_000, late.closed, 'late socket')).toMatchObject({ code: CLOSE_SERVICE_RESTART })
    expect(drain.size).toBe(0)

    await within(1_000, new SocketDrain().drain(3_000), 'empty drain')
  })

  it('cuts a client that never answers the close frame after the grace', async () => {
    const drain = new SocketDrain({ graceMs: 200 })
    const server = await serverWith(drain)
    const client = await open(server.url)
    await vi.waitFor(() => expect(drain.size).toBe(1))
    // The client stops reading: the server's close frame is never answered.
    client.socket.pause()
    await within(3_000, drain.drain(0), 'drain of a mute client')
    expect(drain.size).toBe(0)
    client.socket.resume()
  })

  it('a closed socket leaves presence at once: its user goes offline for the other members', async () => {
    const drain = new SocketDrain()
    const server = await serverWith(drain)
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const socket = await open(server.url, cookieOf(member))
    const sub = socket.subscribe('presence.onProject', { projectId: project.id })
    await socket.started(sub)
    // The owner watches the project's presence through the process hub the socket joined.
    const ownerSocket = await open(server.url, cookieOf(owner))
    const watch = ownerSocket.subscribe('presence.onProject', { projectId: project.id })
    await ownerSocket.started(watch)
    await ownerSocket.waitFor(f => f.startsWith(`{"id":${watch},"result":{"type":"data"`) && f.includes(member.user.id))

    // Drain only the member's socket: the owner's keeps watching.
    const memberOnly = new SocketDrain()
    memberOnly.track(server.serverSockets.at(-2)!)
    await memberOnly.drain(0)
    expect(await within(2_000, socket.closed, 'member socket')).toMatchObject({ code: CLOSE_SERVICE_RESTART })
    await within(5_000, ownerSocket.waitFor(f => f.includes('"offline":[{') && f.includes(member.user.id)), 'offline patch')
    expect(drain.size).toBe(1)
  })
})

describe('startShutdown', () => {
  afterEach(() => {
    setShuttingDown(false)
    vi.useRealTimers()
  })

  it('reports not ready at once: /api/ready answers 503 "shutting down" without running the checks', async () => {
    const check = vi.fn(async () => ({ ready: true, checks: { database: 'ok' as const, migrations: 'ok' as const } }))
    const readiness: Readiness = { check, close: async () => {} }
    const router = createRouter().get('/api/ready', createReadyHandler(() => readiness))
    const server: Server = createServer(toNodeListener(createApp().use(router)))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ready`
    try {
      expect((await fetch(url)).status).toBe(200)
      const exit = vi.fn()
      await startShutdown({ drain: new SocketDrain(), spreadMs: 0, timeoutMs: 60_000, flushPresence: async () => {}, exit })
      expect(isShuttingDown()).toBe(true)
      const res = await fetch(url)
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe(String(READY_RETRY_AFTER_SECONDS))
      expect(await res.json()).toEqual({ status: 'shutting down' })
      expect(check).toHaveBeenCalledTimes(1)
      expect(exit).not.toHaveBeenCalled()
    }
    finally {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  })

  it('exits with 1 by the deadline when something hangs, after flushing presence', async () => {
    vi.useFakeTimers()
    const store = new MemoryPresenceStore()
    const hub = new PresenceHub(store)
    await hub.join('conn-1', 'project-1', { id: 'user-1', username: 'u1', name: 'U 1', status: 'available' })
    expect(await store.list('project-1', Date.now())).toHaveLength(1)
    const exit = vi.fn()
    // A drain that never ends: a socket nobody closes.
    const hanging = { size: 1, drain: () => new Promise<void>(() => {}) } as unknown as SocketDrain
    void startShutdown({ drain: hanging, spreadMs: 1_000, timeoutMs: 5_000, flushPresence: () => hub.stop(), exit })
    // Presence is flushed in the last second before the deadline.
    await vi.advanceTimersByTimeAsync(3_999)
    expect(exit).not.toHaveBeenCalled()
    expect(await store.list('project-1', Date.now())).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(exit).toHaveBeenCalledWith(1)
    expect(await store.list('project-1', Date.now())).toHaveLength(0)
  })

  it('exits by the deadline even when flushing presence hangs', async () => {
    vi.useFakeTimers()
    const exit = vi.fn()
    const hanging = { size: 0, drain: () => new Promise<void>(() => {}) } as unknown as SocketDrain
    void startShutdown({ drain: hanging, spreadMs: 0, timeoutMs: 2_000, flushPresence: () => new Promise<void>(() => {}), exit })
    await vi.advanceTimersByTimeAsync(999)
    expect(exit).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(exit).toHaveBeenCalledWith(1)
  })

  it('refuses new socket upgrades with 503 once shutting down', async () => {
    const route = (await import('../../server/routes/api/trpc-ws')).default as unknown as { __websocket__: { upgrade: (request: Request) => Response | undefined } }
    const upgrade = () => route.__websocket__.upgrade(new Request('http://127.0.0.1/api/trpc-ws'))
    expect(upgrade()).toBeUndefined()
    setShuttingDown()
    const refused = upgrade()
    expect(refused?.status).toBe(503)
    expect(refused?.headers.get('retry-after')).toBe('1')
  })

  it('the process drain is one instance', () => {
    expect(useSocketDrain()).toBe(useSocketDrain())
  })
})
