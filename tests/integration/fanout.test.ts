// The WebSocket handler in this process, on real sockets: the direct fan-out of project events must
// send exactly the frames tRPC's own subscription loop sends, heal gaps, end and detach like it.
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { MemoryEventBus, setEventBus, type EventBus } from '../../server/realtime/bus'
import { CLOSE_SLOW_CONSUMER, fanout, sendLimits } from '../../server/realtime/fanout'
import { createTrpcSocketHandler } from '../../server/realtime/wsServer'
import type { Database } from '../../server/utils/db'
import { projectWithTeam, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

interface Server { url: string, close: () => Promise<void> }

/** A `ws` server on a free loopback port whose sockets are served by our tRPC handler. */
async function listen(db: Database, direct: boolean): Promise<Server> {
  const serve = createTrpcSocketHandler({ database: async () => db.prisma, direct })
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  wss.on('connection', (socket, req) => {
    serve({
      websocket: socket,
      request: { url: `http://127.0.0.1${req.url}`, headers: new Headers(req.headers as Record<string, string>) },
      remoteAddress: req.socket.remoteAddress,
    })
  })
  await new Promise(resolve => wss.once('listening', resolve))
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/api/trpc-ws`,
    close: () => new Promise<void>((resolve) => {
      for (const client of wss.clients) client.terminate()
      wss.close(() => resolve())
    }),
  }
}

/** A raw socket that records every text frame, with a way to await one that matches. */
class RawClient {
  readonly frames: string[] = []
  private waiters: { test: (frame: string) => boolean, resolve: (frame: string) => void }[] = []
  readonly closed: Promise<{ code: number }>
  readonly socket: WebSocket

  constructor(url: string, cookie: string) {
    this.socket = new WebSocket(url, { headers: { cookie } })
    this.socket.on('message', (data) => {
      const frame = data.toString()
      this.frames.push(frame)
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(frame)) return true
        w.resolve(frame)
        return false
      })
    })
    this.closed = new Promise(resolve => this.socket.on('close', code => resolve({ code })))
  }

  opened() {
    return new Promise<void>((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('error', reject)
    })
  }

  send(message: unknown) {
    this.socket.send(JSON.stringify(message))
  }

  waitFor(test: (frame: string) => boolean): Promise<string> {
    const seen = this.frames.find(test)
    if (seen) return Promise.resolve(seen)
    return new Promise(resolve => this.waiters.push({ test, resolve }))
  }

  dataFrames() {
    return this.frames.filter(f => f.includes('"type":"data"'))
  }
}

const subscribeMessage = (id: number | string, projectId: string, extra: Record<string, unknown> = {}) => ({
  id, method: 'subscription', params: { path: 'project.onEvent', input: { json: { projectId } } }, ...extra,
})

describe.runIf(databaseAvailable)('direct fan-out over real sockets', () => {
  let db: Database
  let bus: MemoryEventBus
  let previousBus: EventBus
  let direct: Server
  let stock: Server
  const clients: RawClient[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    bus = new MemoryEventBus()
    previousBus = setEventBus(bus)
    direct = await listen(db, true)
    stock = await listen(db, false)
  })
  afterEach(() => {
    bus.dropFilter = null
    for (const client of clients.splice(0)) client.socket.terminate()
  })
  afterAll(async () => {
    await direct?.close()
    await stock?.close()
    setEventBus(previousBus)
    await db?.close()
  })

  async function connect(server: Server, jar: { values: Map<string, string> }) {
    const client = new RawClient(server.url, `tt_session=${jar.values.get('tt_session')}`)
    clients.push(client)
    await client.opened()
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
    const pairs: { a: RawClient, b: RawClient }[] = []
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
