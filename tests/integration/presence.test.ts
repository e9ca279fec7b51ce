// Presence through the real procedures (callers with a socket connection id), on a real database;
// the Redis part runs two hubs ("instances") on one real redis-server.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { PresenceHub, presenceTiming, usePresenceHub, type PresenceMessage, type PresenceState } from '../../server/presence/hub'
import { RedisPresenceStore } from '../../server/presence/store'
import { MemoryEventBus } from '../../server/realtime/bus'
import { markConnection } from '../../server/realtime/connection'
import { createContextInner } from '../../server/trpc/context'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp, taskInput, type TestCookieJar } from '../factories'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const savedTiming = { ...presenceTiming }

/** A presence stream read message by message, with a way to wait for a state. */
function reader(iterable: AsyncIterable<PresenceMessage>) {
  const iterator = iterable[Symbol.asyncIterator]()
  const members = new Map<string, PresenceState>()
  const apply = (message: PresenceMessage) => {
    if (message.kind === 'snapshot') {
      members.clear()
      for (const m of message.members) members.set(m.userId, m)
    }
    else {
      for (const m of message.upsert) members.set(m.userId, m)
      for (const o of message.offline) members.delete(o.userId)
    }
    return message
  }
  return {
    members,
    next: async () => {
      const result = await iterator.next()
      if (result.done) return null
      return apply(result.value)
    },
    /** Reads until `test` holds for the members; fails after `timeoutMs` rather than waiting forever. */
    async until(test: (members: Map<string, PresenceState>) => boolean, timeoutMs = 5_000) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`presence did not reach the expected state within ${timeoutMs} ms`)), timeoutMs)
      })
      try {
        while (!test(members)) {
          const message = await Promise.race([this.next(), timedOut])
          if (!message) throw new Error('the presence stream ended')
        }
        return members
      }
      finally {
        clearTimeout(timer)
      }
    },
  }
}

describe.runIf(databaseAvailable)('presence', () => {
  let db: Database
  let bus: MemoryEventBus
  let restore: (() => void) | undefined
  const aborts: AbortController[] = []
  let connSeq = 0

  beforeAll(async () => {
    db = await createTestDatabase()
    bus = new MemoryEventBus()
  })
  beforeEach(() => {
    Object.assign(presenceTiming, { flushMs: 10, typingMs: 300 })
    // A fresh in-process presence hub per test, on the file's bus.
    restore = installTestServices({ bus }, {
      presence: { onSeen: (ids, at) => db.prisma.user.updateMany({ where: { id: { in: ids } }, data: { lastSeenAt: at } }) },
    }).restore
  })
  afterEach(async () => {
    bus.dropFilter = null
    for (const c of aborts.splice(0)) c.abort()
    await usePresenceHub().stop()
    restore?.()
    Object.assign(presenceTiming, savedTiming)
  })
  afterAll(async () => {
    await db?.close()
  })

  /** A caller as one socket (tab) of `user`. */
  async function tab(user: { jar: TestCookieJar }) {
    const connId = `conn-${++connSeq}`
    const ctx = markConnection(await createContextInner({ db: db.prisma, env: { secureCookies: false }, cookies: user.jar, ip: '10.2.2.2', socket: true }), connId)
    const controller = new AbortController()
    aborts.push(controller)
    const caller = createCaller(ctx, { signal: controller.signal })
    return {
      connId,
      caller,
      /** Subscribes and reads the snapshot (the connection has joined the project's presence then). */
      watch: async (projectId: string) => {
        const stream = reader(await caller.presence.onProject({ projectId }) as AsyncIterable<PresenceMessage>)
        expect((await stream.next())?.kind).toBe('snapshot')
        return stream
      },
      close: () => usePresenceHub().connectionClosed(connId).then(() => controller.abort()),
    }
  }

  it('shows who is online with their tasks, counting several tabs of one user once', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const ownerTab = await tab(owner)
    const watcher = await ownerTab.watch(project.id)
    await watcher.until(m => m.has(owner.user.id))

    const [taskA, taskB] = [await owner.caller.task.create(taskInput(project.id)), await owner.caller.task.create(taskInput(project.id))]
    const tab1 = await tab(member)
    const tab2 = await tab(member)
    await tab1.watch(project.id)
    await tab2.watch(project.id)
    await tab1.caller.presence.update({ projectId: project.id, taskId: taskA.id })
    await tab2.caller.presence.update({ projectId: project.id, taskId: taskB.id })
    const members = await watcher.until(m => m.get(member.user.id)?.taskIds.length === 2)
    expect(members.size).toBe(2)
    expect(members.get(member.user.id)).toMatchObject({ username: member.user.username, status: 'available', taskIds: [taskA.id, taskB.id].sort() })

    // One tab closing keeps the user online; the last one takes them offline and stamps lastSeenAt.
    await tab1.close()
    await watcher.until(m => m.get(member.user.id)?.taskIds.join() === taskB.id)
    const before = new Date()
    await tab2.close()
    await watcher.until(m => !m.has(member.user.id))
    const { lastSeenAt } = await db.prisma.user.findUniqueOrThrow({ where: { id: member.user.id } })
    expect(lastSeenAt!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 5)
  })

  it('shows typing, and ends it by itself after the typing window', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const watcher = await (await tab(owner)).watch(project.id)
    const task = await owner.caller.task.create(taskInput(project.id))
    const typist = await tab(member)
    await typist.watch(project.id)
    await typist.caller.presence.typing({ projectId: project.id, taskId: task.id, field: 'comment' })
    await watcher.until(m => m.get(member.user.id)?.typing.some(t => t.taskId === task.id && t.field === 'comment') ?? false)
    const typedAt = Date.now()
    await watcher.until(m => m.get(member.user.id)?.typing.length === 0)
    expect(Date.now() - typedAt).toBeGreaterThanOrEqual(presenceTiming.typingMs - 50)
  })

  it('is away when every tab is idle or when chosen, and DND when chosen', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const watcher = await (await tab(owner)).watch(project.id)
    const [a, b] = [await tab(member), await tab(member)]
    await a.watch(project.id)
    await b.watch(project.id)
    await watcher.until(m => m.get(member.user.id)?.status === 'available')
    await a.caller.presence.update({ projectId: project.id, idle: true })
    await b.caller.presence.update({ projectId: project.id, idle: true })
    await watcher.until(m => m.get(member.user.id)?.status === 'away')
    await b.caller.presence.update({ projectId: project.id, idle: false })
    await watcher.until(m => m.get(member.user.id)?.status === 'available')
    await a.caller.presence.setStatus({ status: 'dnd' })
    await watcher.until(m => m.get(member.user.id)?.status === 'dnd')
    expect(await b.caller.presence.myStatus()).toEqual({ status: 'dnd' })
    await a.caller.presence.setStatus({ status: 'available' })
    await watcher.until(m => m.get(member.user.id)?.status === 'available')
  })

  it('gives nothing to non-members, needs a socket, and ends for a removed member', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const outsider = await signUp(db)
    expect((await failure((await tab(outsider)).watch(project.id))).code).toBe('NOT_FOUND')
    const http = createCaller(await createContextInner({ db: db.prisma, env: { secureCookies: false }, cookies: owner.jar, ip: '10.2.2.3' }))
    expect((await failure(http.presence.update({ projectId: project.id, taskId: null }))).code).toBe('BAD_REQUEST')
    // A connection that did not join the project cannot set presence in it.
    expect((await failure((await tab(owner)).caller.presence.typing({ projectId: project.id, taskId: 't', field: 'description' }))).code).toBe('BAD_REQUEST')

    const member = await addMember('MEMBER')
    const stream = await (await tab(member)).watch(project.id)
    await owner.caller.member.remove({ projectId: project.id, userId: member.user.id })
    await stream.until(() => false).catch((error: Error) => expect(error.message).toMatch(/ended/))
  })

  it('ends for a removed member whose removal the bus lost: the next event shows the gap, and the log has it', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const stream = await (await tab(member)).watch(project.id)
    bus.dropFilter = event => event.type !== 'member.removed'
    await owner.caller.member.remove({ projectId: project.id, userId: member.user.id })
    bus.dropFilter = null
    await owner.caller.task.create(taskInput(project.id))
    await expect(stream.until(() => false)).rejects.toThrow('the presence stream ended')
  })

  it('only points at tasks of the project: another project\'s task, or a deleted one, is NOT_FOUND', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const member = await addMember('MEMBER')
    const mine = await owner.caller.task.create(taskInput(project.id))
    const gone = await owner.caller.task.create(taskInput(project.id))
    await owner.caller.task.delete({ id: gone.id })
    // A project the member also belongs to: its tasks are visible to them, but not part of this project.
    const other = await member.caller.project.create({ name: 'Side project' })
    const elsewhere = await member.caller.task.create(taskInput(other.id))
    const watcher = await (await tab(owner)).watch(project.id)
    const t = await tab(member)
    await t.watch(project.id)

    for (const taskId of [elsewhere.id, gone.id, 'no-such-task']) {
      const update = await failure(t.caller.presence.update({ projectId: project.id, taskId }))
      expect(update.code).toBe('NOT_FOUND')
      expect(update.message).toBe(`Task ${taskId} not found`)
      expect((await failure(t.caller.presence.typing({ projectId: project.id, taskId, field: 'comment' }))).code).toBe('NOT_FOUND')
    }
    // Nothing of it reached the others; the project's own task does.
    await t.caller.presence.update({ projectId: project.id, taskId: mine.id })
    const members = await watcher.until(m => m.get(member.user.id)?.taskIds.length === 1)
    expect(members.get(member.user.id)?.taskIds).toEqual([mine.id])
    expect(members.get(member.user.id)?.typing).toEqual([])
    // null still clears it.
    await t.caller.presence.update({ projectId: project.id, taskId: null })
    await watcher.until(m => m.get(member.user.id)?.taskIds.length === 0)
  })

  it('rejects bad input with field errors', async () => {
    const { owner, project } = await projectWithTeam(db)
    const t = await tab(owner)
    await t.watch(project.id)
    const bad = await failure(t.caller.presence.typing({ projectId: project.id, taskId: 'x', field: 'title' as never }))
    expect(bad.code).toBe('BAD_REQUEST')
    expect(bad.data.fieldErrors).toHaveProperty('field')
    expect((await failure(t.caller.presence.setStatus({ status: 'busy' as never }))).data.fieldErrors).toHaveProperty('status')
  })
})

describe.runIf(databaseAvailable && redisAvailable())('presence across instances (Redis)', () => {
  let redis: RedisServer
  const hubs: PresenceHub[] = []
  const stores: RedisPresenceStore[] = []

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterEach(async () => {
    for (const hub of hubs.splice(0)) await hub.stop()
    for (const store of stores.splice(0)) await store.close()
    Object.assign(presenceTiming, savedTiming)
  })
  afterAll(async () => {
    await redis?.stop()
  })

  function instance() {
    const store = new RedisPresenceStore(redis.url)
    stores.push(store)
    const hub = new PresenceHub(store)
    hubs.push(hub)
    return hub
  }

  const user = (id: string) => ({ id, username: id, name: `User ${id}`, status: 'available' as const })

  it('agrees on who is online, and a crashed instance\'s users lapse by themselves', async () => {
    Object.assign(presenceTiming, { flushMs: 10, entryTtlMs: 600 })
    const a = instance()
    const b = instance()
    const seenOnB: PresenceMessage[] = []
    let wake: (() => void) | null = null
    const { snapshot } = await b.subscribe('p1', (m) => {
      seenOnB.push(m)
      wake?.()
    })
    expect(snapshot).toEqual({ kind: 'snapshot', members: [] })
    const waitOnB = async (test: () => boolean, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`instance B did not see the expected presence within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 250)
        })
      }
    }
    const onB = (userId: string) => seenOnB.some(m => m.kind === 'patch' && m.upsert.some(u => u.userId === userId))

    await a.join('a-conn-1', 'p1', user('ana'))
    await a.join('a-conn-2', 'p1', user('ana'))
    await b.join('b-conn-1', 'p1', user('ben'))
    await waitOnB(() => onB('ana') && onB('ben'))
    const { snapshot: fromA } = await a.subscribe('p1', () => {})
    expect((fromA as { members: PresenceState[] }).members.map(m => m.userId).sort()).toEqual(['ana', 'ben'])

    // Instance A dies: no goodbye, no more heartbeats. B keeps its own user alive with heartbeats.
    await stores[0]!.close()
    const crashedAt = Date.now()
    const offline = () => seenOnB.some(m => m.kind === 'patch' && m.offline.some(o => o.userId === 'ana'))
    // B's own heartbeat and sweep run on a timer in production; here the test drives them until A's user expires.
    await vi.waitFor(async () => {
      await b.heartbeat()
      await b.sweep()
      expect(offline()).toBe(true)
    }, { timeout: presenceTiming.entryTtlMs + 1_000, interval: 100 })
    expect(Date.now() - crashedAt).toBeLessThan(presenceTiming.entryTtlMs + 1_000)
    const { snapshot: now } = await b.subscribe('p1', () => {})
    expect((now as { members: PresenceState[] }).members.map(m => m.userId)).toEqual(['ben'])
  })
})
