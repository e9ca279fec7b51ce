// The composition root (server/container.ts): services built for one configuration, read through the
// accessors once installed, carried by the tRPC context, and closed cleanly (Redis) at shutdown.
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeServices, createServices, installServices, useServices } from '../../server/container'
import { notificationNow } from '../../server/notifications/clock'
import { usersInDnd } from '../../server/notifications/notifier'
import { MemoryUserBus, useUserBus } from '../../server/notifications/userBus'
import { usePresenceHub } from '../../server/presence/hub'
import { MemoryEventBus, useEventBus } from '../../server/realtime/bus'
import { recentRevocations, revokeSockets, RedisRevocationBus } from '../../server/realtime/revocation'
import { signInLimits } from '../../server/services/signInLimits'
import { createContextInner } from '../../server/trpc/context'
import type { Db } from '../../server/utils/db'
import { cookieJar } from '../factories'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'

describe('services', () => {
  it('are what the accessors read once installed; restoring puts the previous set back', async () => {
    const before = useServices()
    const fixed = new Date('2030-01-02T03:04:05Z')
    const services = createServices({}, { clock: () => fixed, dnd: async (_db, ids) => new Set(ids.slice(0, 1)) })
    const restore = installServices(services)
    try {
      expect(useEventBus()).toBe(services.bus)
      expect(useUserBus()).toBe(services.userBus)
      expect(usePresenceHub()).toBe(services.presence)
      expect(signInLimits()).toBe(services.limits.signIn)
      expect(notificationNow()).toEqual(fixed)
      expect(await usersInDnd({} as Db, ['u1', 'u2'])).toEqual(new Set(['u1']))
    }
    finally {
      restore()
    }
    expect(useServices()).toBe(before)
    expect(useEventBus()).toBe(before.bus)
    expect(notificationNow()).not.toEqual(fixed)
  })

  it('build in process what is not overridden, and keep what is', () => {
    const bus = new MemoryEventBus()
    const services = createServices({}, { bus })
    expect(services.bus).toBe(bus)
    expect(services.userBus).toBeInstanceOf(MemoryUserBus)
    expect(createServices().bus).not.toBe(bus)
  })

  it('remember the revocations their own bus carries, and only theirs', () => {
    const services = createServices()
    const other = createServices()
    const restore = installServices(services)
    try {
      revokeSockets({ sessionId: 'session-1' })
      services.revocations.publish({ apiTokenId: 'token-1' })
      expect(recentRevocations()).toBe(services.recentRevocations)
    }
    finally {
      restore()
    }
    expect(services.recentRevocations.verdict({ userId: 'u1', sessionId: 'session-1' })).toBe('revoked')
    expect(services.recentRevocations.verdict({ userId: 'u1', apiTokenId: 'token-1' })).toBe('revoked')
    expect(other.recentRevocations.verdict({ userId: 'u1', sessionId: 'session-1' })).toBe('clear')
  })

  it('are carried by the tRPC context: the installed set, unless the caller passes its own', async () => {
    const input = { db: {} as Db, env: { secureCookies: false }, cookies: cookieJar(), ip: '10.0.0.1' }
    const services = createServices()
    const restore = installServices(services)
    try {
      expect((await createContextInner(input)).services).toBe(services)
    }
    finally {
      restore()
    }
    const own = createServices()
    expect((await createContextInner({ ...input, services: own })).services).toBe(own)
  })
})

describe.runIf(redisAvailable())('services on Redis', () => {
  let redis: RedisServer
  let admin: Redis
  beforeAll(async () => {
    redis = await startRedis()
    admin = new Redis(redis.url)
  })
  afterAll(async () => {
    admin?.disconnect()
    await redis?.stop()
  })

  const clients = async () => (await admin.client('LIST') as string).trim().split('\n').length

  it('two instances\' services share revocations, and closing them leaves no connection open', async () => {
    const a = createServices({ redisUrl: redis.url })
    const b = createServices({ redisUrl: redis.url })
    expect(a.revocations).toBeInstanceOf(RedisRevocationBus)
    await Promise.all([(a.revocations as RedisRevocationBus).ready(), (b.revocations as RedisRevocationBus).ready()])
    expect(await clients()).toBeGreaterThan(1)

    a.revocations.publish({ sessionId: 'session-on-a' })
    await expect.poll(() => b.recentRevocations.verdict({ userId: 'u1', sessionId: 'session-on-a' }), { timeout: 10_000 }).toBe('revoked')

    await closeServices(a)
    await closeServices(b)
    // Only the test's own connection is left.
    await expect.poll(clients, { timeout: 10_000 }).toBe(1)
  })
})
