import { isTrackedEnvelope, type TrackedEnvelope } from '@trpc/server'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NotificationStreamEvent } from '../../shared/schemas/notification'
import { notificationsSettled } from '../../server/notifications/notifier'
import { openNotificationStream } from '../../server/notifications/stream'
import { RedisUserBus, userChannel } from '../../server/notifications/userBus'
import type { Database } from '../../server/utils/db'
import { projectWithTeam, taskInput } from '../factories'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

/** Waits (bounded) for the next item of a stream. */
async function nextItem(iterator: AsyncIterator<TrackedEnvelope<NotificationStreamEvent>>, ms = 10_000) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no notification within ${ms} ms`)), ms)
  })
  try {
    const result = await Promise.race([iterator.next(), timeout])
    if (result.done || !isTrackedEnvelope<NotificationStreamEvent>(result.value)) throw new Error('the stream ended')
    return { id: result.value[0], event: result.value[1] }
  }
  finally {
    clearTimeout(timer)
  }
}

describe.runIf(databaseAvailable && redisAvailable())('notifications across two instances (Redis user bus)', () => {
  let redis: RedisServer
  let db: Database
  let a: RedisUserBus
  let b: RedisUserBus
  let restore: (() => void) | undefined

  beforeAll(async () => {
    redis = await startRedis()
    db = await createTestDatabase()
    a = new RedisUserBus(redis.url, { name: 'tt-notify-test-a' })
    b = new RedisUserBus(redis.url, { name: 'tt-notify-test-b' })
    await Promise.all([a.ready(), b.ready()])
    // Instance A runs the writes and the notifier; instance B serves the user's socket.
    restore = installTestServices({ userBus: a }).restore
  })
  afterAll(async () => {
    await notificationsSettled()
    restore?.()
    await Promise.all([a?.close(), b?.close()])
    await db?.close()
    await redis?.stop()
  })

  it('delivers a notification written on instance A to a stream on instance B, once, and heals a lost message', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const ben = await addMember('MEMBER')
    await notificationsSettled()
    const { lastSeq } = await ben.caller.notification.unreadCount()

    const controller = new AbortController()
    const stream = await openNotificationStream(db.prisma, ben.user.id, { lastEventId: String(lastSeq) }, controller.signal, b)
    const iterator = stream[Symbol.asyncIterator]()
    await b.ready()
    expect(b.listenerCount(ben.user.id)).toBe(1)
    const spy = new Redis(redis.url)
    try {
      expect(await spy.pubsub('NUMSUB', userChannel(ben.user.id))).toEqual([userChannel(ben.user.id), 1])
    }
    finally {
      spy.disconnect()
    }

    await owner.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'Across' }))
    const first = await nextItem(iterator)
    expect(first).toMatchObject({ id: String(lastSeq + 1), event: { kind: 'notification', unreadCount: 2, notification: { type: 'assigned', data: { taskTitle: 'Across' } } } })
    // Dates survive the trip through Redis.
    expect((first.event as { notification: { createdAt: unknown } }).notification.createdAt).toBeInstanceOf(Date)

    // B's subscriber connection drops (and reconnects by itself): a message published meanwhile is
    // lost on Redis, and the next one makes the stream read it from the database first.
    const admin = new Redis(redis.url)
    try {
      const line = (await admin.client('LIST') as string).split('\n').find(l => l.includes('name=tt-notify-test-b:sub'))
      await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]!)
      await owner.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'Maybe lost' }))
      await notificationsSettled()
      // Polls until B's subscriber is back on the channel (ioredis resubscribes on reconnect).
      const deadline = Date.now() + 10_000
      while ((await admin.pubsub('NUMSUB', userChannel(ben.user.id)))[1] !== 1) {
        if (Date.now() > deadline) throw new Error('the subscriber did not come back')
        await new Promise(r => setTimeout(r, 20))
      }
    }
    finally {
      admin.disconnect()
    }
    await owner.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'After reconnect' }))
    const rest = [await nextItem(iterator), await nextItem(iterator)]
    expect(rest.map(r => r.id)).toEqual([String(lastSeq + 2), String(lastSeq + 3)])
    expect(rest.map(r => r.event.kind === 'notification' && r.event.notification.data.taskTitle)).toEqual(['Maybe lost', 'After reconnect'])

    // A read on instance A reaches B's stream as a state change.
    await ben.caller.notification.markAllRead()
    expect((await nextItem(iterator)).event).toMatchObject({ kind: 'state', ids: 'all', unreadCount: 0 })

    controller.abort()
    await iterator.return?.(undefined)
    expect(b.listenerCount(ben.user.id)).toBe(0)
  })
})
