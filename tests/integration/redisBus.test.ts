import { isTrackedEnvelope, type TrackedEnvelope } from '@trpc/server'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ProjectEvent } from '../../shared/events'
import { openProjectEventStream } from '../../server/realtime/projectStream'
import { projectChannel, RedisBus } from '../../server/realtime/redisBus'
import type { Database } from '../../server/utils/db'
import { projectWithTeam, taskInput } from '../factories'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

const WAIT_MS = 10_000

/**
 * Collects what a listener receives after seq `after` (the setup's own events, published after
 * their commit, may still be on their way); `next()` waits (bounded) for the next one.
 */
function collector(after: number) {
  const items: ProjectEvent[] = []
  let wake: (() => void) | null = null
  let read = 0
  return {
    items,
    listener: (event: ProjectEvent) => {
      if (event.seq <= after) return
      items.push(event)
      wake?.()
    },
    async next(): Promise<ProjectEvent> {
      const deadline = Date.now() + WAIT_MS
      while (read >= items.length) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no event within ${WAIT_MS} ms (received ${items.length})`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        wake = null
      }
      return items[read++]!
    },
  }
}

describe.runIf(databaseAvailable && redisAvailable())('RedisBus (two instances on one Redis)', () => {
  let redis: RedisServer
  let db: Database
  let admin: Redis
  let busA: RedisBus
  let busB: RedisBus
  let restore: (() => void) | undefined

  beforeAll(async () => {
    redis = await startRedis()
    db = await createTestDatabase()
    admin = new Redis(redis.url)
    busA = new RedisBus(redis.url, { name: 'test-a' })
    busB = new RedisBus(redis.url, { name: 'test-b' })
    await Promise.all([busA.ready(), busB.ready()])
    // Writes made through the services publish on instance A.
    restore = installTestServices({ bus: busA }).restore
  })
  afterAll(async () => {
    restore?.()
    await busA?.close()
    await busB?.close()
    admin?.disconnect()
    await db?.close()
    await redis?.stop()
  })

  /** A project with its owner, and the seq its setup reached. */
  async function team() {
    const made = await projectWithTeam(db)
    const { eventSeq } = await db.prisma.project.findUniqueOrThrow({ where: { id: made.project.id }, select: { eventSeq: true } })
    return { ...made, start: eventSeq }
  }

  const subscribers = async (projectId: string) => {
    const reply = await admin.pubsub('NUMSUB', projectChannel(projectId)) as [string, number | string]
    return Number(reply[1])
  }
  // Subscriptions are asynchronous by nature: poll Redis until the count holds.
  const subscribed = (projectId: string, count: number) => vi.waitFor(async () => expect(await subscribers(projectId), `subscribers on ${projectId}`).toBe(count), { timeout: WAIT_MS, interval: 20 })

  it('delivers an event published on instance A to a subscriber on instance B, dates restored', async () => {
    const { owner, project, start } = await team()
    const onB = collector(start)
    const unsubscribe = busB.subscribe(project.id, onB.listener)
    await subscribed(project.id, 1)

    const task = await owner.caller.task.create(taskInput(project.id, { title: 'Across instances' }))
    const event = await onB.next()
    const logged = await db.prisma.projectEvent.findFirstOrThrow({ where: { projectId: project.id, entityId: task.id } })
    expect(event).toMatchObject({ id: logged.id, projectId: project.id, seq: logged.seq, type: 'task.created', entityId: task.id, actorId: owner.user.id })
    expect(event.createdAt).toBeInstanceOf(Date)
    expect(event.createdAt.getTime()).toBe(logged.createdAt.getTime())
    expect(event.data).toEqual(logged.data)
    unsubscribe()
  })

  it('reaches the publishing instance\'s own subscribers exactly once', async () => {
    const { owner, project, start } = await team()
    const onA = collector(start)
    const unsubscribe = busA.subscribe(project.id, onA.listener)
    await subscribed(project.id, 1)
    await owner.caller.task.create(taskInput(project.id))
    await owner.caller.task.create(taskInput(project.id))
    const first = await onA.next()
    const second = await onA.next()
    expect(second.seq).toBe(first.seq + 1)
    // A third write as a barrier: anything duplicated would have arrived before it.
    await owner.caller.task.create(taskInput(project.id))
    await onA.next()
    expect(onA.items.map(e => e.seq)).toEqual([first.seq, first.seq + 1, first.seq + 2])
    unsubscribe()
  })

  it('hands the same frozen object to every local subscriber', async () => {
    const { owner, project, start } = await team()
    const one = collector(start)
    const two = collector(start)
    const offOne = busB.subscribe(project.id, one.listener)
    const offTwo = busB.subscribe(project.id, two.listener)
    await subscribed(project.id, 1)
    await owner.caller.project.update({ id: project.id, name: 'Shared object' })
    const [a, b] = await Promise.all([one.next(), two.next()])
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
    expect(Object.isFrozen(a.data)).toBe(true)
    offOne()
    offTwo()
  })

  it('stops delivery on unsubscribe and leaves the channel with the last local listener', async () => {
    const { owner, project, start } = await team()
    const stays = collector(start)
    const leaves = collector(start)
    const offStays = busB.subscribe(project.id, stays.listener)
    const offLeaves = busB.subscribe(project.id, leaves.listener)
    await subscribed(project.id, 1)
    await owner.caller.task.create(taskInput(project.id))
    await Promise.all([stays.next(), leaves.next()])

    offLeaves()
    offLeaves() // twice is harmless
    expect(busB.listenerCount(project.id)).toBe(1)
    await owner.caller.task.create(taskInput(project.id))
    await stays.next()
    expect(leaves.items).toHaveLength(1)

    offStays()
    expect(busB.listenerCount(project.id)).toBe(0)
    await subscribed(project.id, 0)
  })

  it('does not deliver a project\'s events to another project\'s subscribers', async () => {
    const first = await team()
    const second = await team()
    const onFirst = collector(first.start)
    const onSecond = collector(second.start)
    const offFirst = busB.subscribe(first.project.id, onFirst.listener)
    const offSecond = busB.subscribe(second.project.id, onSecond.listener)
    await Promise.all([subscribed(first.project.id, 1), subscribed(second.project.id, 1)])
    await first.owner.caller.task.create(taskInput(first.project.id))
    await second.owner.caller.task.create(taskInput(second.project.id))
    expect((await onFirst.next()).projectId).toBe(first.project.id)
    expect((await onSecond.next()).projectId).toBe(second.project.id)
    expect(onFirst.items.map(e => e.projectId)).toEqual([first.project.id])
    expect(onSecond.items.map(e => e.projectId)).toEqual([second.project.id])
    offFirst()
    offSecond()
  })

  it('resubscribes after its subscriber connection drops, and the stream heals what Redis lost meanwhile', async () => {
    const { owner, project, start } = await team()
    const controller = new AbortController()
    const stream = await openProjectEventStream(db.prisma, owner.user.id, { projectId: project.id }, controller.signal, { bus: busB })
    await subscribed(project.id, 1)

    // Drop instance B's subscriber connection: whatever A publishes until it is back is lost.
    const clients = await admin.client('LIST') as string
    const line = clients.split('\n').find(l => / name=test-b:sub /.test(` ${l} `))
    expect(line).toBeDefined()
    await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]!)
    for (let i = 0; i < 5; i++) await owner.caller.task.create(taskInput(project.id, { title: `while away ${i}` }))

    // ioredis reconnects and resubscribes on its own; the next live event reveals the gap.
    await subscribed(project.id, 1)
    await owner.caller.task.create(taskInput(project.id, { title: 'after' }))
    const seqs: number[] = []
    const iterator = stream[Symbol.asyncIterator]()
    while (seqs.length < 6) {
      const { value, done } = await iterator.next()
      if (done) break
      const raw: unknown = value
      const [id, event] = raw as TrackedEnvelope<ProjectEvent>
      expect(isTrackedEnvelope(raw)).toBe(true)
      expect(id).toBe(String(event.seq))
      seqs.push(event.seq)
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6].map(n => start + n))
    controller.abort()
    await iterator.return?.()
  })
})
