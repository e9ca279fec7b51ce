// The WebSocket handler in this process, on real sockets: the direct fan-out of project events must
// send exactly the frames tRPC's own subscription loop sends, heal gaps, end and detach like it.
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { fromWireEvent } from '../../shared/events'
import { MemoryEventBus } from '../../server/realtime/bus'
import { CLOSE_SLOW_CONSUMER, CLOSE_TRY_AGAIN, DirectSink, fanout, fanoutLimits, fanoutMetrics, presenceFanoutMetrics, SendGate, sendLimits } from '../../server/realtime/fanout'
import { projectStreamStats } from '../../server/realtime/projectStream'
import { presenceTiming } from '../../server/presence/hub'
import { socketSessionStats } from '../../server/realtime/socketSessions'
import { streamStartStats } from '../../server/realtime/streamStart'
import type { Database } from '../../server/utils/db'
import { projectWithTeam, signUp, taskInput } from '../factories'
import { listenSockets, TestSocket, type SocketServer } from '../factories/sockets'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const subscribeMessage = (id: number | string, projectId: string, extra: Record<string, unknown> = {}) => ({
  id, method: 'subscription', params: { path: 'project.onEvent', input: { json: { projectId } } }, ...extra,
})

/** A send gate over a stand-in socket that is open and takes every frame. */
function fakeGate() {
  const socket = { readyState: 1, bufferedAmount: 0, send: vi.fn(), close: vi.fn(), _sender: { _state: 0, _queue: [] }, _socket: { write: vi.fn() } }
  return { socket, gate: new SendGate(socket as unknown as WebSocket) }
}

describe.runIf(databaseAvailable)('direct fan-out over real sockets', () => {
  let db: Database
  let bus: MemoryEventBus
  let restore: (() => void) | undefined
  let direct: SocketServer
  let stock: SocketServer
  const clients: TestSocket[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    bus = new MemoryEventBus()
    restore = installTestServices({ bus }).restore
    direct = await listenSockets(db, { direct: true })
    stock = await listenSockets(db, { direct: false })
  })
  afterEach(() => {
    bus.dropFilter = null
    for (const client of clients.splice(0)) client.socket.terminate()
  })
  afterAll(async () => {
    await direct?.close()
    await stock?.close()
    restore?.()
    await db?.close()
  })

  async function connect(server: SocketServer, jar: { values: Map<string, string> }) {
    const client = await TestSocket.open(server.url, { cookie: `tt_session=${jar.values.get('tt_session')}` })
    clients.push(client)
    return client
  }

  const started = (id: number | string) => (f: string) => f === `{"id":${JSON.stringify(id)},"result":{"type":"started"}}`
    || f === `{"id":${JSON.stringify(id)},"jsonrpc":"2.0","result":{"type":"started"}}`

  it('sends byte-for-byte the frames of tRPC\'s own loop, for numeric and string ids, with and without jsonrpc', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const variants = [
      { id: 1, extra: {} },
      { id: 'sub-7', extra: { jsonrpc: '2.0' } },
    ]
    const pairs: { a: TestSocket, b: TestSocket }[] = []
    for (const { id, extra } of variants) {
      const a = await connect(direct, member.jar)
      const b = await connect(stock, member.jar)
      a.send(subscribeMessage(id, project.id, extra))
      b.send(subscribeMessage(id, project.id, extra))
      await Promise.all([a.waitFor(started(id)), b.waitFor(started(id))])
      pairs.push({ a, b })
    }
    await new Promise(resolve => setImmediate(resolve))
    expect(fanout.size(project.id)).toBe(2)

    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Ünïcode "quoted" <b>' }))
    await owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { labels: ['a', 'b'], dueDate: new Date('2027-01-02T00:00:00Z') } })
    await owner.caller.task.move({ id: task.id, status: 'DONE' })
    const last = String((await db.prisma.project.findUniqueOrThrow({ where: { id: project.id } })).eventSeq)

    for (const { a, b } of pairs) {
      const lastFrame = (f: string) => f.endsWith(`"id":"${last}"}}`)
      await Promise.all([a.waitFor(lastFrame), b.waitFor(lastFrame)])
      expect(a.dataFrames()).toHaveLength(3)
      expect(a.dataFrames()).toEqual(b.dataFrames())
    }
  })

  it('sends presence patches past tRPC\'s loop, byte for byte what the loop sends, once serialized for all watchers', async () => {
    const saved = presenceTiming.flushMs
    presenceTiming.flushMs = 10
    try {
      const { owner, project, addMember } = await projectWithTeam(db)
      const member = await addMember('MEMBER')
      const task = await owner.caller.task.create(taskInput(project.id, { title: 'Looked at' }))
      // The member watches on both servers (they share this process's presence hub, so both get
      // the very same patches); the owner is the one who moves.
      const watchers: TestSocket[] = []
      for (const server of [direct, stock]) {
        const watcher = await connect(server, member.jar)
        await watcher.started(watcher.subscribe('presence.onProject', { projectId: project.id }))
        await watcher.waitFor(f => f.includes('"kind":"snapshot"'))
        watchers.push(watcher)
      }
      const actor = await connect(stock, owner.jar)
      await actor.started(actor.subscribe('presence.onProject', { projectId: project.id }))
      const written = presenceFanoutMetrics.framesWritten
      expect((await actor.call('mutation', 'presence.update', { projectId: project.id, taskId: task.id })).result).toBeDefined()
      const seesTask = (f: string) => f.includes('"kind":"patch"') && f.includes(task.id)
      await Promise.all(watchers.map(w => w.waitFor(seesTask)))
      // (The first watcher also saw the second one join; from the actor's move on they got the same.)
      const [viaSink, viaLoop] = watchers.map(w => w.dataFrames().filter(seesTask))
      expect(viaSink).toHaveLength(1)
      expect(viaSink).toEqual(viaLoop)
      // The direct server's watcher took the sink's way (the actor and the other watcher are on the stock server).
      expect(presenceFanoutMetrics.framesWritten).toBeGreaterThan(written)
    }
    finally {
      presenceTiming.flushMs = saved
    }
  })

  it('sends a description change in one frame of at most the text + 400 bytes: no previous text, no transformer metadata', async () => {
    const { owner, project } = await projectWithTeam(db)
    const client = await connect(direct, owner.jar)
    client.send(subscribeMessage(1, project.id))
    await client.waitFor(started(1))
    await new Promise(resolve => setImmediate(resolve))
    const task = await owner.caller.task.create(taskInput(project.id, { description: 'o'.repeat(300) }))
    const text = 'n'.repeat(300)
    await owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { description: text } })
    const frame = await client.waitFor(f => f.includes('"task.updated"'))
    expect(frame).toContain(`"description":{"to":"${text}"}`)
    expect(frame).not.toContain('o'.repeat(300))
    expect(frame).not.toContain('"meta"')
    // tRPC's envelope and tracked id (81 bytes), the event's ids, type, seq, version and ISO date: the rest.
    expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(text.length + 400)
    // Short fields keep their previous value (the activity feed shows "renamed from … to …").
    await owner.caller.task.update({ id: task.id, baseVersion: 2, patch: { title: 'Renamed' } })
    const rename = await client.waitFor(f => f.includes('"title":{'))
    expect(JSON.parse(rename).result.data.json.data.data.changes.title).toEqual({ from: expect.stringMatching(/^Task /), to: 'Renamed' })
  })

  it('sends the compact form (wire: 2) in at most the text + 200 bytes, the same on both paths, expanding to the named event', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const compactDirect = await connect(direct, member.jar)
    const compactLoop = await connect(stock, member.jar)
    const named = await connect(direct, member.jar)
    for (const client of [compactDirect, compactLoop]) {
      client.send({ id: 2, method: 'subscription', params: { path: 'project.onEvent', input: { json: { projectId: project.id, wire: 2 } } } })
      await client.waitFor(started(2))
    }
    named.send(subscribeMessage(2, project.id))
    await named.waitFor(started(2))
    await vi.waitFor(() => expect(fanout.size(project.id)).toBe(2))

    const task = await owner.caller.task.create(taskInput(project.id, { description: 'o'.repeat(300) }))
    const text = 'n'.repeat(300)
    await owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { description: text } })
    const isEdit = (f: string) => f.includes(`"${text}"`)
    const direct2 = await compactDirect.waitFor(isEdit)
    const loop2 = await compactLoop.waitFor(isEdit)
    const named2 = await named.waitFor(isEdit)
    // The direct fan-out and tRPC's own loop send the very same compact bytes.
    expect(direct2).toBe(loop2)
    expect(direct2).toContain(`[2,{"description":"${text}"}]`)
    expect(direct2).not.toContain('o'.repeat(300))
    expect(Buffer.byteLength(direct2)).toBeLessThanOrEqual(text.length + 200)
    expect(Buffer.byteLength(named2)).toBeGreaterThan(Buffer.byteLength(direct2))

    // Expanded at the client's one entry point, the compact event is the named one (without the row id).
    const item = (frame: string) => JSON.parse(frame).result.data.json as { id: string, data: never }
    const fromCompact = fromWireEvent(item(direct2).data, project.id, item(direct2).id)
    const fromNamed = fromWireEvent(item(named2).data)
    expect(fromCompact).toEqual({ ...fromNamed, id: '' })
    expect(fromNamed.id).toMatch(/\w{10,}/)
    expect(fromCompact.data).toEqual({ version: 2, changes: { description: { to: text } } })

    // Short fields keep both values, as [from, to]; a move too.
    await owner.caller.task.move({ id: task.id, status: 'DONE' })
    const isMove = (f: string) => f.includes('"tm"')
    const move = await compactDirect.waitFor(isMove)
    const moved = fromWireEvent(item(move).data, project.id, item(move).id)
    expect(moved).toMatchObject({ type: 'task.moved', entityType: 'task', entityId: task.id, actorId: owner.user.id, projectId: project.id })
    expect((moved.data as { changes: Record<string, unknown> }).changes.status).toEqual({ from: 'TODO', to: 'DONE' })
    const namedMove = fromWireEvent(item(await named.waitFor(f => f.includes('"task.moved"'))).data)
    expect(moved).toEqual({ ...namedMove, id: '' })
  })

  it('is decoded by the stock wsLink client with the superjson transformer, backfill and live alike', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const task = await owner.caller.task.create(taskInput(project.id, { description: 'before' }))
    const { eventSeq: from } = await db.prisma.project.findUniqueOrThrow({ where: { id: project.id } })
    await owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { description: 'backfilled' } })
    const cookie = `tt_session=${member.jar.values.get('tt_session')}`
    const wsClient = createWSClient({
      url: direct.url,
      WebSocket: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: { cookie } })
        }
      } as unknown as typeof globalThis.WebSocket,
    })
    const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] })
    const received: { id: string, data: { seq: number, type: string, createdAt: string, data: unknown } }[] = []
    const sub = trpc.project.onEvent.subscribe({ projectId: project.id, lastEventId: String(from) }, {
      onData: envelope => void received.push(envelope as never),
    })
    try {
      await vi.waitFor(() => expect(received).toHaveLength(1))
      await vi.waitFor(() => expect(fanout.size(project.id)).toBe(1))
      await owner.caller.task.update({ id: task.id, baseVersion: 2, patch: { description: 'live' } })
      await vi.waitFor(() => expect(received).toHaveLength(2))
      expect(received.map(r => r.id)).toEqual([String(from + 1), String(from + 2)])
      expect(received.map(r => r.data.data)).toEqual([
        { version: 2, changes: { description: { to: 'backfilled' } } },
        { version: 3, changes: { description: { to: 'live' } } },
      ])
      for (const r of received) expect(fromWireEvent(r.data as never).createdAt).toBeInstanceOf(Date)
    }
    finally {
      sub.unsubscribe()
      wsClient.close()
    }
  })

  it('shares one membership and seq read among subscriptions starting together, and never answers from a stale one', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const sessionsBefore = { ...socketSessionStats(db.prisma) }
    const sockets = await Promise.all(Array.from({ length: 12 }, (_, i) => connect(direct, i % 2 ? member.jar : owner.jar)))
    const before = { ...streamStartStats }
    for (const socket of sockets) socket.send(subscribeMessage(1, project.id))
    await Promise.all(sockets.map(socket => socket.waitFor(started(1))))
    expect(streamStartStats.answered - before.answered).toBe(12)
    expect(streamStartStats.reads - before.reads).toBeLessThan(12)
    // Their cookies were looked up together too.
    const sessions = socketSessionStats(db.prisma)
    expect(sessions.calls - sessionsBefore.calls).toBe(12)
    expect(sessions.batches - sessionsBefore.batches).toBeLessThan(12)

    // Removed a moment ago: the next subscription of theirs is refused like a stranger's.
    await owner.caller.member.remove({ projectId: project.id, userId: member.user.id })
    const late = await connect(direct, member.jar)
    late.send(subscribeMessage(1, project.id))
    expect(await late.waitFor(f => f.includes('"error"'))).toContain('NOT_FOUND')
  })

  it('fills a gap left by a lost bus message from the log, in order', async () => {
    const { owner, project } = await projectWithTeam(db)
    const client = await connect(direct, owner.jar)
    client.send(subscribeMessage(1, project.id))
    await client.waitFor(started(1))
    await new Promise(resolve => setImmediate(resolve))
    let dropped = 0
    bus.dropFilter = () => dropped++ !== 1 // the second event never reaches the bus' listeners
    for (let i = 0; i < 4; i++) await owner.caller.task.create(taskInput(project.id))
    const seq = (await db.prisma.project.findUniqueOrThrow({ where: { id: project.id } })).eventSeq
    await client.waitFor(f => f.endsWith(`"id":"${seq}"}}`))
    const ids = client.dataFrames().map(f => Number(/"id":"(\d+)"\}\}$/.exec(f)![1]))
    expect(ids).toEqual([seq - 3, seq - 2, seq - 1, seq])
  })

  it('ends the stream after the event removing its user, and leaves the fan-out set', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const client = await connect(direct, member.jar)
    client.send(subscribeMessage(3, project.id))
    await client.waitFor(started(3))
    await new Promise(resolve => setImmediate(resolve))
    expect(fanout.size(project.id)).toBe(1)
    await owner.caller.member.remove({ projectId: project.id, userId: member.user.id })
    await client.waitFor(f => f === '{"id":3,"result":{"type":"stopped"}}')
    const removal = client.dataFrames().at(-1)!
    expect(removal).toContain('"type":"member.removed"')
    expect(fanout.size(project.id)).toBe(0)
    // Nothing after the removal reaches them.
    await owner.caller.task.create(taskInput(project.id))
    expect(client.dataFrames()).toHaveLength(1)
  })

  it('ends a presence stream on the sink\'s path whose removal the bus lost: the next event shows the gap, the log has it', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const client = await connect(direct, member.jar)
    const id = client.subscribe('presence.onProject', { projectId: project.id })
    await client.started(id)
    await client.waitFor(f => f.includes('"kind":"snapshot"'))
    const written = presenceFanoutMetrics.framesWritten
    // A patch through the sink: the stream has been handed to the direct path.
    const other = await connect(stock, owner.jar)
    await other.started(other.subscribe('presence.onProject', { projectId: project.id }))
    await vi.waitFor(() => expect(presenceFanoutMetrics.framesWritten).toBeGreaterThan(written))
    bus.dropFilter = event => event.type !== 'member.removed'
    await owner.caller.member.remove({ projectId: project.id, userId: member.user.id })
    bus.dropFilter = null
    await owner.caller.task.create(taskInput(project.id))
    await client.waitFor(f => f === `{"id":${id},"result":{"type":"stopped"}}`)
  })

  it('detaches on subscription.stop and on close, and a non-member never joins', async () => {
    const { project, owner } = await projectWithTeam(db)
    const outsider = await signUp(db)
    const stranger = await connect(direct, outsider.jar)
    stranger.send(subscribeMessage(1, project.id))
    const error = await stranger.waitFor(f => f.includes('"error"'))
    expect(error).toContain('NOT_FOUND')

    const a = await connect(direct, owner.jar)
    const b = await connect(direct, owner.jar)
    a.send(subscribeMessage(1, project.id))
    b.send(subscribeMessage(1, project.id))
    await Promise.all([a.waitFor(started(1)), b.waitFor(started(1))])
    await new Promise(resolve => setImmediate(resolve))
    expect(fanout.size(project.id)).toBe(2)
    a.send({ id: 1, method: 'subscription.stop' })
    await a.waitFor(f => f === '{"id":1,"result":{"type":"stopped"}}')
    expect(fanout.size(project.id)).toBe(1)
    b.socket.close()
    await b.closed
    await expect.poll(() => fanout.size(project.id)).toBe(0)
  })

  it('keeps no generator per caught-up subscription: the socket answers subscription.stop (in a batch too) and a reused id', async () => {
    const { owner, project } = await projectWithTeam(db)
    const running = projectStreamStats.running
    const client = await connect(direct, owner.jar)
    for (const id of [1, 2]) client.send(subscribeMessage(id, project.id))
    await Promise.all([client.waitFor(started(1)), client.waitFor(started(2))])
    await vi.waitFor(() => expect(fanout.size(project.id)).toBe(2))
    // Both generators ended at the hand-off, and tRPC's `stopped` for them was not sent.
    await vi.waitFor(() => expect(projectStreamStats.running).toBe(running))
    const task = await owner.caller.task.create(taskInput(project.id))
    const seq = () => db.prisma.project.findUniqueOrThrow({ where: { id: project.id } }).then(p => p.eventSeq)
    let last = await seq()
    await client.waitFor(f => f.startsWith('{"id":2,') && f.endsWith(`"id":"${last}"}}`))
    expect(client.frames.filter(f => f.includes('"stopped"'))).toEqual([])

    // One frame: a stop of a handed-off subscription (answered by the socket) and a query (by tRPC).
    client.socket.send(JSON.stringify([{ id: 1, method: 'subscription.stop' }, { id: 9, method: 'query', params: { path: 'auth.me', input: { json: null } } }]))
    await client.waitFor(f => f === '{"id":1,"result":{"type":"stopped"}}')
    expect(await client.waitFor(f => f.startsWith('{"id":9,'))).toContain(owner.user.id)
    expect(fanout.size(project.id)).toBe(1)

    // Id 2 reused for a new subscription: it replaces the handed-off one, events arrive once.
    client.send(subscribeMessage(2, project.id))
    await vi.waitFor(() => expect(client.frames.filter(started(2))).toHaveLength(2))
    await vi.waitFor(() => expect(fanout.size(project.id)).toBe(1))
    await owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Once' } })
    last = await seq()
    await client.waitFor(f => f.startsWith('{"id":2,') && f.endsWith(`"id":"${last}"}}`))
    expect(client.dataFrames(2).filter(f => f.endsWith(`"id":"${last}"}}`))).toHaveLength(1)
    expect(client.dataFrames(1)).toHaveLength(1)
    expect(projectStreamStats.running).toBe(running)
  })

  it('fans out in chunks, yielding to the event loop between them, and every socket still gets every event once, in order', async () => {
    const { owner, project } = await projectWithTeam(db)
    const saved = fanoutLimits.chunk
    fanoutLimits.chunk = 2
    try {
      const sockets = await Promise.all(Array.from({ length: 5 }, () => connect(direct, owner.jar)))
      for (const socket of sockets) socket.send(subscribeMessage(1, project.id))
      await Promise.all(sockets.map(socket => socket.waitFor(started(1))))
      await vi.waitFor(() => expect(fanout.size(project.id)).toBe(5))
      const yields = fanoutMetrics.yields
      const { eventSeq: from } = await db.prisma.project.findUniqueOrThrow({ where: { id: project.id } })
      // Three events published at once: each waits for the one before to reach every socket.
      for (let seq = from + 1; seq <= from + 3; seq++) {
        bus.publish({ id: `c${seq}`, projectId: project.id, seq, type: 'project.updated', actorId: null, entityType: 'project', entityId: project.id, data: { n: seq }, createdAt: new Date() })
      }
      for (const socket of sockets) {
        await socket.waitFor(f => f.endsWith(`"id":"${from + 3}"}}`))
        expect(socket.dataFrames().map(f => Number(/"id":"(\d+)"\}\}$/.exec(f)![1]))).toEqual([from + 1, from + 2, from + 3])
      }
      // 15 deliveries, 2 per turn.
      expect(fanoutMetrics.yields - yields).toBeGreaterThanOrEqual(7)
    }
    finally {
      fanoutLimits.chunk = saved
    }
  })

  it('closes the socket with 1013 when a handed-off sink cannot read its gap from the log, so the client resumes', async () => {
    const { project } = await projectWithTeam(db)
    const { socket, gate } = fakeGate()
    const sink = new DirectSink(project.id, 'someone', 10)
    sink.bind(1, undefined)
    sink.attach(gate)
    sink.handedOff({ source: { seqOf: e => e.seq, read: () => Promise.reject(new Error('database down')), endsAfter: () => false, emit: e => e }, batch: 10 })
    expect(fanout.size(project.id)).toBe(1)
    bus.publish({ id: 'e12', projectId: project.id, seq: 12, type: 'project.updated', actorId: null, entityType: 'project', entityId: project.id, data: {}, createdAt: new Date() })
    await vi.waitFor(() => expect(socket.close).toHaveBeenCalledWith(CLOSE_TRY_AGAIN, expect.stringContaining('reconnect')))
    expect(fanout.size(project.id)).toBe(0)
    expect(gate.subscription(sink.key)).toBeUndefined()
  })

  it('closes a socket whose reader stays too far behind with 4008, and others keep receiving', async () => {
    const { owner, project } = await projectWithTeam(db)
    const slow = await connect(direct, owner.jar)
    const fast = await connect(direct, owner.jar)
    for (const client of [slow, fast]) client.send(subscribeMessage(1, project.id))
    await Promise.all([slow.waitFor(started(1)), fast.waitFor(started(1))])
    await new Promise(resolve => setImmediate(resolve))
    // The slow reader stops reading: once the kernel buffers are full, frames pile up in the server.
    ;(slow.socket as unknown as { _socket: { pause: () => void } })._socket.pause()
    const { eventSeq } = await db.prisma.project.findUniqueOrThrow({ where: { id: project.id } })
    const blob = 'x'.repeat(512 * 1024)
    let seq = eventSeq
    while (fanout.size(project.id) === 2 && seq < eventSeq + 200) {
      seq++
      bus.publish({ id: `e${seq}`, projectId: project.id, seq, type: 'project.updated', actorId: null, entityType: 'project', entityId: project.id, data: { blob }, createdAt: new Date() })
      // Let the sockets write between events, as they would between real commits.
      await new Promise(resolve => setImmediate(resolve))
    }
    expect(fanout.size(project.id)).toBe(1)
    expect(seq - eventSeq).toBeGreaterThan(sendLimits.hardBytes / blob.length)
    await fast.waitFor(f => f.endsWith(`"id":"${seq}"}}`))
    expect(fast.dataFrames()).toHaveLength(seq - eventSeq)
    ;(slow.socket as unknown as { _socket: { resume: () => void } })._socket.resume()
    const { code } = await slow.closed
    expect(code).toBe(CLOSE_SLOW_CONSUMER)
  })
})
