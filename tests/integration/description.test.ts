// Live description editing (issue 17) through the real procedures on a real database: Yjs documents
// as two tabs hold them, the stored updates, compaction, the API path, and two hubs ("instances")
// sharing one real redis-server.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import type { DescriptionMessage } from '../../shared/schemas/description'
import { compaction, DescriptionHub, descriptionTiming, fromBase64, toBase64, useDescriptionHub } from '../../server/collab/descriptionHub'
import { RedisDocBus } from '../../server/collab/docBus'
import { MemoryEventBus } from '../../server/realtime/bus'
import { createContextInner } from '../../server/trpc/context'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, taskInput, type TestCookieJar } from '../factories'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const savedTiming = { ...descriptionTiming }
/** Settled writes go through the database: give a loaded machine time. */
const waitFor = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 20_000, interval: 50 })
const savedCompaction = { ...compaction }

describe.runIf(databaseAvailable)('live description', () => {
  let db: Database
  const bus = new MemoryEventBus()
  const restores: Array<() => void> = []
  const aborts: AbortController[] = []
  /** Services with a fresh description hub (as a restarted instance has), on the file's bus. */
  const freshHub = () => restores.push(installTestServices({ bus, descriptions: new DescriptionHub() }).restore)

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  beforeEach(() => {
    Object.assign(descriptionTiming, { settleMs: 50, maxSettleMs: 500 })
    freshHub()
  })
  afterEach(async () => {
    bus.dropFilter = null
    for (const c of aborts.splice(0)) c.abort()
    // The aborted streams close their documents (last write, compaction) before the next test.
    await waitFor(() => expect(useDescriptionHub().openCount()).toBe(0))
    await useDescriptionHub().stop()
    for (const restore of restores.splice(0).reverse()) restore()
    Object.assign(descriptionTiming, savedTiming)
    Object.assign(compaction, savedCompaction)
  })
  afterAll(async () => {
    await db?.close()
  })

  async function callerOf(user: { jar: TestCookieJar }, signal?: AbortSignal) {
    const ctx = await createContextInner({ db: db.prisma, env: { secureCookies: false }, cookies: user.jar, ip: '10.3.3.3', socket: true })
    return createCaller(ctx, { signal })
  }

  /** A tab: its own Y.Doc, synced through `description.onDoc` and `description.push` like the editor. */
  async function tab(user: { jar: TestCookieJar }, taskId: string, doc = new Y.Doc()) {
    const controller = new AbortController()
    aborts.push(controller)
    const caller = await callerOf(user, controller.signal)
    const stream = await caller.description.onDoc({ taskId, stateVector: toBase64(Y.encodeStateVector(doc)) }) as AsyncIterable<DescriptionMessage>
    const iterator = stream[Symbol.asyncIterator]()
    const first = (await iterator.next()).value as DescriptionMessage & { kind: 'sync' }
    expect(first.kind).toBe('sync')
    Y.applyUpdate(doc, fromBase64(first.update), 'server')
    const awareness: string[] = [...first.awareness]
    // What the server lacks (offline edits) goes back at once, as the editor does.
    const missing = Y.encodeStateAsUpdate(doc, fromBase64(first.stateVector))
    const sends: Promise<unknown>[] = []
    if (first.canWrite && missing.byteLength > 2) sends.push(caller.description.push({ taskId, update: toBase64(missing) }))
    // Local edits are sent together, once per turn of the event loop (the editor batches them too:
    // a socket takes at most 10 calls a second).
    let pending: Uint8Array[] = []
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === 'server') return
      pending.push(update)
      if (pending.length > 1) return
      sends.push(new Promise(resolve => setTimeout(resolve, 0)).then(() => {
        const merged = Y.mergeUpdates(pending)
        pending = []
        return caller.description.push({ taskId, update: toBase64(merged) })
      }))
    })
    const reading = (async () => {
      for (;;) {
        const next = await iterator.next().catch(() => ({ done: true as const, value: undefined }))
        if (next.done) return
        const message = next.value
        if (message.kind === 'update') Y.applyUpdate(doc, fromBase64(message.update), 'server')
        else if (message.kind === 'awareness') awareness.push(message.update)
      }
    })()
    const text = doc.getText('description')
    return {
      doc,
      text,
      caller,
      first,
      awareness,
      reading,
      /** every push so far answered */
      flushed: async () => {
        while (sends.length) await Promise.all(sends.splice(0))
      },
      close: async () => {
        controller.abort()
        await reading
      },
    }
  }

  it('two members typing into the same paragraph converge on both words, and the task follows', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const task = await owner.caller.task.create(taskInput(project.id, { description: 'Ship the release.' }))
    const ana = await tab(owner, task.id)
    const ben = await tab(member, task.id)
    expect(ana.text.toString()).toBe('Ship the release.')
    expect(ben.first.canWrite).toBe(true)

    // Both type at the same place before either sees the other's edit.
    ana.text.insert(8, 'Monday ')
    ben.text.insert(8, 'tested ')
    await Promise.all([ana.flushed(), ben.flushed()])
    await waitFor(() => {
      expect(ana.text.toString()).toBe(ben.text.toString())
      expect(ana.text.toString()).toMatch(/Monday /)
      expect(ana.text.toString()).toMatch(/tested /)
    })
    const merged = ana.text.toString()

    // Once the edits settle, Task.description holds the text, through the normal path (an event).
    await waitFor(async () => expect((await owner.caller.task.byId({ id: task.id })).description).toBe(merged))
    const events = await db.prisma.projectEvent.findMany({ where: { entityId: task.id, type: 'task.updated' } })
    expect(events.length).toBeGreaterThanOrEqual(1)
    expect(events.at(-1)!.data).toMatchObject({ changes: { description: { to: merged } } })

    // Ana keeps typing after a pause: a second settled write, still one entry in the activity feed.
    ana.text.insert(0, '# ')
    await ana.flushed()
    await waitFor(async () => expect((await owner.caller.task.byId({ id: task.id })).description).toBe(`# ${merged}`))
    const feed = await owner.caller.activity.list({ projectId: project.id, taskId: task.id })
    const edits = feed.items.filter(i => i.type === 'task.updated')
    const byAna = edits.filter(i => i.actor?.id === owner.user.id)
    expect(byAna).toHaveLength(1)
    expect(byAna[0]!.changes[0]).toMatchObject({ field: 'description', to: `# ${merged}` })

    // A third tab joining late sees the same text.
    const late = await tab(member, task.id)
    expect(late.text.toString()).toBe(`# ${merged}`)
  })

  it('lets a viewer read and show a cursor but not write; non-members and bad updates are refused', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const viewer = await addMember('VIEWER')
    const task = await owner.caller.task.create(taskInput(project.id, { description: 'Read me' }))
    const ana = await tab(owner, task.id)
    const reader = await tab(viewer, task.id)
    expect(reader.first.canWrite).toBe(false)
    expect(reader.text.toString()).toBe('Read me')

    const probe = new Y.Doc()
    Y.applyUpdate(probe, Y.encodeStateAsUpdate(reader.doc))
    const before = Y.encodeStateVector(probe)
    probe.getText('description').insert(0, 'HACKED ')
    const update = toBase64(Y.encodeStateAsUpdate(probe, before))
    expect((await failure(reader.caller.description.push({ taskId: task.id, update }))).code).toBe('FORBIDDEN')
    expect(ana.text.toString()).toBe('Read me')

    // A viewer's cursor is no write: relayed.
    const awareness = toBase64(new Uint8Array([1, 42, 1, 2, ...new TextEncoder().encode('{}')]))
    await reader.caller.description.push({ taskId: task.id, awareness })
    await waitFor(() => expect(ana.awareness).toContain(awareness))

    const outsider = (await projectWithTeam(db)).owner
    expect((await failure((await callerOf(outsider)).description.push({ taskId: task.id, update }))).code).toBe('NOT_FOUND')
    expect((await failure((async () => {
      const s = await (await callerOf(outsider)).description.onDoc({ taskId: task.id }) as AsyncIterable<unknown>
      await s[Symbol.asyncIterator]().next()
    })())).code).toBe('NOT_FOUND')
    expect((await failure(ana.caller.description.push({ taskId: task.id, update: 'not base64!' }))).code).toBe('BAD_REQUEST')
    expect((await failure(ana.caller.description.push({ taskId: task.id, update: toBase64(new Uint8Array([200, 1, 2, 3, 4])) }))).code).toBe('BAD_REQUEST')
    expect((await failure(ana.caller.description.push({ taskId: task.id }))).code).toBe('BAD_REQUEST')
    expect((await failure(ana.caller.description.push({ taskId: task.id, update: 'A'.repeat(200_000) }))).code).toBe('BAD_REQUEST')
    // A state vector that does not decode is the caller's mistake, not a server error (found by the fuzzer).
    expect((await failure((async () => {
      const s = await ana.caller.description.onDoc({ taskId: task.id, stateVector: '=' }) as AsyncIterable<unknown>
      await s[Symbol.asyncIterator]().next()
    })())).code).toBe('BAD_REQUEST')
    expect(ana.text.toString()).toBe('Read me')
  })

  it('ends the stream of a removed member, also when the bus lost the removal (the next event shows the gap), and when the task is deleted', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const task = await owner.caller.task.create(taskInput(project.id))
    const ana = await tab(owner, task.id)
    const ben = await tab(member, task.id)
    bus.dropFilter = event => event.type !== 'member.removed'
    await owner.caller.member.remove({ projectId: project.id, userId: member.user.id })
    bus.dropFilter = null
    await owner.caller.task.create(taskInput(project.id))
    await ben.reading // the reader returns when its stream ends
    await owner.caller.task.delete({ id: task.id })
    await ana.reading
  })

  it('stores every update, compacts them into a snapshot, and a restarted hub loses nothing', async () => {
    Object.assign(compaction, { rows: 10 })
    const { owner, project } = await projectWithTeam(db)
    const task = await owner.caller.task.create(taskInput(project.id))
    const ana = await tab(owner, task.id)
    for (let i = 0; i < 25; i++) {
      ana.text.insert(ana.text.length, `w${i} `)
      if (i % 3 === 0) ana.text.delete(0, 1)
    }
    await ana.flushed()
    const typed = ana.text.toString()
    const rows = () => db.prisma.taskDocUpdate.findMany({ where: { taskId: task.id } })
    await waitFor(async () => expect((await rows()).some(r => r.snapshot)).toBe(true))
    expect((await rows()).length).toBeLessThan(25)

    // "Restart": a new hub reads only the database.
    await ana.close()
    await useDescriptionHub().stop()
    freshHub()
    const again = await tab(owner, task.id)
    expect(again.text.toString()).toBe(typed)
    // The last editor left: everything was compacted into one row, and the text written to the task.
    await again.close()
    await waitFor(async () => expect((await rows()).length).toBe(1))
    expect((await owner.caller.task.byId({ id: task.id })).description).toBe(typed)
    // A client that kept its state gets nothing it already has.
    const resumed = await tab(owner, task.id, ana.doc)
    expect(fromBase64(resumed.first.update).byteLength).toBeLessThan(64)
    expect(resumed.text.toString()).toBe(typed)
  })

  it('turns a task.update of the description into an edit that open editors see, keeping their own edits', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const task = await owner.caller.task.create(taskInput(project.id, { description: 'alpha beta gamma' }))
    const ana = await tab(member, task.id)
    const current = await owner.caller.task.byId({ id: task.id })
    await owner.caller.task.update({ id: task.id, baseVersion: current.version, patch: { description: 'alpha BETA gamma' } })
    await waitFor(() => expect(ana.text.toString()).toBe('alpha BETA gamma'))
    // An edit typed meanwhile at the end survives (a diff, not a replacement).
    ana.text.insert(ana.text.length, ' delta')
    await ana.flushed()
    await waitFor(async () => expect((await owner.caller.task.byId({ id: task.id })).description).toBe('alpha BETA gamma delta'))

    // A task whose document was never opened: nothing stored until someone opens it.
    const closed = await owner.caller.task.create(taskInput(project.id, { description: 'one' }))
    await owner.caller.task.update({ id: closed.id, baseVersion: closed.version, patch: { description: 'two' } })
    expect(await db.prisma.taskDocUpdate.count({ where: { taskId: closed.id } })).toBe(0)
    expect((await tab(owner, closed.id)).text.toString()).toBe('two')
  })

  it('merges edits made offline when the tab comes back, without losing either side', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const task = await owner.caller.task.create(taskInput(project.id, { description: 'Start.' }))
    const ana = await tab(owner, task.id)
    const offline = new Y.Doc()
    const ben = await tab(member, task.id, offline)
    await ben.close()
    // Ben types offline (his updates go nowhere); Ana types online.
    offline.getText('description').insert(6, ' Ben offline.')
    ana.text.insert(6, ' Ana online.')
    await ana.flushed()
    const back = await tab(member, task.id, offline)
    await back.flushed()
    await waitFor(() => {
      expect(ana.text.toString()).toBe(back.text.toString())
      expect(ana.text.toString()).toContain('Ben offline.')
      expect(ana.text.toString()).toContain('Ana online.')
    })
  })
})

describe.runIf(databaseAvailable && redisAvailable())('live description across instances (Redis)', () => {
  let db: Database
  let redis: RedisServer
  beforeAll(async () => {
    db = await createTestDatabase()
    redis = await startRedis()
  })
  afterAll(async () => {
    await db?.close()
    await redis?.stop()
  })

  it('sends an update made on one instance to the streams of another, and a restarted instance has it all', async () => {
    const { owner, project } = await projectWithTeam(db)
    const task = await owner.caller.task.create(taskInput(project.id, { description: 'x' }))
    const busA = new RedisDocBus(redis.url, 'test-a')
    const busB = new RedisDocBus(redis.url, 'test-b')
    const hubA = new DescriptionHub(busA)
    const hubB = new DescriptionHub(busB)
    const seenOnA: DescriptionMessage[] = []
    const docA = new Y.Doc()
    const streamA = await hubA.open(db.prisma, owner.user.id, task.id, undefined, (m) => {
      seenOnA.push(m)
      if (m.kind === 'update') Y.applyUpdate(docA, fromBase64(m.update))
    })
    Y.applyUpdate(docA, fromBase64(streamA.first.update))
    await busA.ready()
    await busB.ready()

    const docB = new Y.Doc()
    const streamB = await hubB.open(db.prisma, owner.user.id, task.id, undefined, () => {})
    Y.applyUpdate(docB, fromBase64(streamB.first.update))
    const before = Y.encodeStateVector(docB)
    docB.getText('description').insert(1, 'yz')
    await hubB.applyUpdate(db.prisma, owner.user.id, task.id, Y.encodeStateAsUpdate(docB, before))
    await waitFor(() => expect(docA.getText('description').toString()).toBe('xyz'))

    // Instance B goes away mid-edit; a fresh instance has what B acknowledged.
    await streamB.close()
    await hubB.stop()
    await busB.close()
    const hubC = new DescriptionHub(new MemoryDocBusForTest())
    const streamC = await hubC.open(db.prisma, owner.user.id, task.id, undefined, () => {})
    const docC = new Y.Doc()
    Y.applyUpdate(docC, fromBase64(streamC.first.update))
    expect(docC.getText('description').toString()).toBe('xyz')
    await streamC.close()
    await streamA.close()
    await hubA.stop()
    await busA.close()
  })
})

class MemoryDocBusForTest {
  publish() {}
  subscribe() {
    return () => {}
  }
}
