import { isTrackedEnvelope } from '@trpc/server'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ProjectEvent, ProjectEventOnWire, ProjectEventWire } from '../../shared/events'
import { MemoryEventBus } from '../../server/realtime/bus'
import { createWsContext } from '../../server/realtime/wsContext'
import { appendEvent, transaction } from '../../server/services/events'
import { createContextInner } from '../../server/trpc/context'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp, taskInput, type TestCookieJar } from '../factories'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

interface Received { id: string, event: ProjectEventWire }

/** A caller yields the raw `tracked()` envelope [id, data], although its type says { id, data } (what clients get). */
function unwrap(value: { id: string, data: ProjectEventOnWire }): Received {
  const raw: unknown = value
  if (isTrackedEnvelope<ProjectEventWire>(raw)) return { id: raw[0], event: raw[1] }
  // The named form: these subscriptions do not ask for `wire: 2`.
  return { id: value.id, event: value.data as ProjectEventWire }
}

describe.runIf(databaseAvailable)('project.onEvent', () => {
  let db: Database
  let bus: MemoryEventBus
  let restore: (() => void) | undefined
  const open: AbortController[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    bus = new MemoryEventBus()
    restore = installTestServices({ bus }).restore
  })
  afterEach(() => {
    bus.dropFilter = null
    for (const controller of open.splice(0)) controller.abort()
  })
  afterAll(async () => {
    restore?.()
    await db?.close()
  })

  /** Subscribes as `user` through a caller (the same procedure the socket serves); read with next()/take(). */
  async function subscribe(user: { jar: TestCookieJar }, input: { projectId: string, lastEventId?: string | null }) {
    const controller = new AbortController()
    open.push(controller)
    const ctx = await createContextInner({ db: db.prisma, env: { secureCookies: false }, cookies: user.jar, ip: '10.1.1.1' })
    const iterable = await createCaller(ctx, { signal: controller.signal }).project.onEvent(input)
    const iterator = iterable[Symbol.asyncIterator]()
    const next = async (): Promise<Received | null> => {
      const result = await iterator.next()
      if (result.done) return null
      return unwrap(result.value)
    }
    const take = async (n: number) => {
      const out: Received[] = []
      while (out.length < n) {
        const item = await next()
        if (!item) throw new Error(`the stream ended after ${out.length} of ${n} events`)
        out.push(item)
      }
      return out
    }
    return { next, take, abort: () => controller.abort() }
  }

  const seqs = (items: Received[]) => items.map(i => i.event.seq)
  const currentSeq = async (projectId: string) =>
    (await db.prisma.project.findUniqueOrThrow({ where: { id: projectId }, select: { eventSeq: true } })).eventSeq

  it('streams the writes made after subscribing, in seq order, with tracked ids = seq', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const start = await currentSeq(project.id)
    const stream = await subscribe(member, { projectId: project.id })

    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Live' }))
    await owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Live!' } })
    await owner.caller.project.update({ id: project.id, name: 'Renamed live' })

    const received = await stream.take(3)
    expect(seqs(received)).toEqual([start + 1, start + 2, start + 3])
    expect(received.map(r => r.id)).toEqual(received.map(r => String(r.event.seq)))
    expect(received.map(r => r.event.type)).toEqual(['task.created', 'task.updated', 'project.updated'])
    expect(received[1]!.event).toMatchObject({
      projectId: project.id,
      actorId: owner.user.id,
      entityType: 'task',
      entityId: task.id,
      data: { version: 2, changes: { title: { from: 'Live', to: 'Live!' } } },
    })
    // Plain JSON on the wire: an ISO date, no transformer metadata.
    expect(received[1]!.event.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('gives every subscriber the same frozen event object', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('VIEWER')
    const a = await subscribe(owner, { projectId: project.id })
    const b = await subscribe(member, { projectId: project.id })
    await owner.caller.task.create(taskInput(project.id))
    const [[fromA], [fromB]] = await Promise.all([a.take(1), b.take(1)])
    expect(fromA!.event).toBe(fromB!.event)
    expect(Object.isFrozen(fromA!.event)).toBe(true)
    expect(Object.isFrozen(fromA!.event.data)).toBe(true)
  })

  it('resumes from lastEventId with exactly the missed events, then live, without duplicates', async () => {
    const { owner, project } = await projectWithTeam(db)
    for (let i = 0; i < 4; i++) await owner.caller.task.create(taskInput(project.id))
    const seen = await currentSeq(project.id)
    const missedFrom = seen - 2
    const stream = await subscribe(owner, { projectId: project.id, lastEventId: String(missedFrom) })
    // Written while the stream backfills: may come both from the log and the bus, must arrive once.
    const writes = Promise.all([owner.caller.task.create(taskInput(project.id)), owner.caller.task.create(taskInput(project.id))])
    const received = await stream.take(4)
    await writes
    await owner.caller.task.create(taskInput(project.id))
    received.push(...(await stream.take(1)))
    expect(seqs(received)).toEqual([missedFrom + 1, missedFrom + 2, missedFrom + 3, missedFrom + 4, missedFrom + 5])
  })

  it('answers NOT_FOUND to a non-member and UNAUTHORIZED without a session', async () => {
    const { project } = await projectWithTeam(db)
    const outsider = await signUp(db)
    expect((await failure(subscribe(outsider, { projectId: project.id }))).code).toBe('NOT_FOUND')
    const anonymous = { jar: (await signUp(db)).jar }
    anonymous.jar.values.clear()
    expect((await failure(subscribe(anonymous, { projectId: project.id }))).code).toBe('UNAUTHORIZED')
    expect(bus.listenerCount(project.id)).toBe(0)
  })

  it('rejects a lastEventId that is not a seq, or one ahead of the log', async () => {
    const { owner, project } = await projectWithTeam(db)
    expect((await failure(subscribe(owner, { projectId: project.id, lastEventId: 'abc' }))).code).toBe('BAD_REQUEST')
    const ahead = await failure(subscribe(owner, { projectId: project.id, lastEventId: String((await currentSeq(project.id)) + 5) }))
    expect(ahead.code).toBe('BAD_REQUEST')
    expect(ahead.message).toMatch(/is ahead of project/)
    expect(bus.listenerCount(project.id)).toBe(0)
  })

  it('publishes only after commit: a rolled-back transaction publishes nothing', async () => {
    const { owner, project } = await projectWithTeam(db)
    const published: ProjectEvent[] = []
    const unsubscribe = bus.subscribe(project.id, e => published.push(e))
    const stream = await subscribe(owner, { projectId: project.id })
    const before = await currentSeq(project.id)

    await expect(transaction(db.prisma, async (tx) => {
      await appendEvent(tx, { projectId: project.id, type: 'project.updated', actorId: owner.user.id, entityType: 'project', entityId: project.id, data: { changes: { name: { from: 'a', to: 'rolled back' } } } })
      throw new Error('write failed after logging')
    })).rejects.toThrow('write failed after logging')

    // Nothing is published before commit: a write the subscriber waits for proves the bus is quiet.
    let committed = false
    const delivery = stream.take(1).then((items) => {
      expect(committed).toBe(true)
      return items
    })
    await transaction(db.prisma, async (tx) => {
      await appendEvent(tx, { projectId: project.id, type: 'project.updated', actorId: owner.user.id, entityType: 'project', entityId: project.id, data: { changes: { name: { from: 'a', to: 'committed' } } } })
      committed = true
    })
    const [item] = await delivery
    unsubscribe()
    expect(item!.event.seq).toBe(before + 1)
    // (The project's creation may still be published after the spy subscribed: only later seqs count.)
    expect(published.filter(e => e.seq > before).map(e => e.data)).toEqual([{ changes: { name: { from: 'a', to: 'committed' } } }])
  })

  it('heals a gap: an event the bus dropped is read from the log, in order', async () => {
    const { owner, project } = await projectWithTeam(db)
    const stream = await subscribe(owner, { projectId: project.id })
    const start = await currentSeq(project.id)
    const dropped: number[] = []
    bus.dropFilter = (event) => {
      if (event.projectId !== project.id || event.seq !== start + 2) return true
      dropped.push(event.seq)
      return false
    }
    for (let i = 0; i < 3; i++) await owner.caller.task.create(taskInput(project.id, { title: `Gap ${i}` }))
    const received = await stream.take(3)
    expect(dropped).toEqual([start + 2])
    expect(seqs(received)).toEqual([start + 1, start + 2, start + 3])
    expect(received[1]!.event.data).toMatchObject({ task: { title: 'Gap 1' } })
  })

  it('ends the stream of a member who is removed, after telling them', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const stream = await subscribe(member, { projectId: project.id })
    await owner.caller.member.remove({ projectId: project.id, userId: member.user.id })
    const last = await stream.next()
    expect(last?.event).toMatchObject({ type: 'member.removed', entityId: member.user.id })
    expect(await stream.next()).toBeNull()
    expect(bus.listenerCount(project.id)).toBe(0)
    // Others' removals do not end a stream.
    const other = await addMember('VIEWER')
    const ownerStream = await subscribe(owner, { projectId: project.id })
    await owner.caller.member.remove({ projectId: project.id, userId: other.user.id })
    await owner.caller.task.create(taskInput(project.id))
    expect((await ownerStream.take(2)).map(r => r.event.type)).toEqual(['member.removed', 'task.created'])
  })

  it('identifies a socket by the upgrade cookie or by an API token in connectionParams', async () => {
    const user = await signUp(db)
    const base = { db: db.prisma, env: { secureCookies: false }, ip: '10.2.2.2' }
    const session = user.jar.values.get('tt_session')!
    const byCookie = await createWsContext({ ...base, headers: { cookie: `theme=dark; tt_session=${session}` }, connectionParams: null })
    expect(byCookie.user?.id).toBe(user.user.id)
    const { token } = await user.caller.apiToken.create({ name: 'socket', expiresInDays: 1 })
    const byToken = await createWsContext({ ...base, headers: {}, connectionParams: { token } })
    expect(byToken.user?.id).toBe(user.user.id)
    expect(byToken.session).toBeNull()
    const stranger = await createWsContext({ ...base, headers: { cookie: 'tt_session=forged' }, connectionParams: { token: 'ttp_forged' } })
    expect(stranger.user).toBeNull()
    // The first session cookie of the header counts, as browsers send the most specific first.
    const first = await createWsContext({ ...base, headers: { cookie: `broken; tt_session=${session}; tt_session=forged` }, connectionParams: null })
    expect(first.user?.id).toBe(user.user.id)
  })

  it('stops and unsubscribes when the signal aborts, even while waiting', async () => {
    const { owner, project } = await projectWithTeam(db)
    const stream = await subscribe(owner, { projectId: project.id })
    const pending = stream.next()
    expect(bus.listenerCount(project.id)).toBe(1)
    stream.abort()
    expect(await pending).toBeNull()
    expect(bus.listenerCount(project.id)).toBe(0)
  })
})
