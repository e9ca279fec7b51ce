// Presence across two production servers sharing PostgreSQL and Redis: both agree on who is
// online, and SIGKILL of one makes its users go offline on the other within the TTL.
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PresenceMessage, PresenceState } from '../../server/presence/hub'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { startPostgres, type PostgresServer } from '../setup/postgres'
import { redisAvailable, startRedis, type RedisServer } from '../setup/redis'
import { startAppServer, type AppServer } from './appServer'
import { httpClient, webSocketWithHeaders } from './helpers'

const TTL_SECONDS = 3

/** A presence subscription on a socket, with the members it currently shows. */
function watchPresence(baseUrl: string, cookie: string, projectId: string) {
  const socket = createWSClient({ url: `${baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`, WebSocket: webSocketWithHeaders({ cookie }), retryDelayMs: () => 200 })
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
  const members = new Map<string, PresenceState>()
  let wake: (() => void) | null = null
  const sub = client.presence.onProject.subscribe({ projectId }, {
    onData: (message: PresenceMessage) => {
      if (message.kind === 'snapshot') {
        members.clear()
        for (const m of message.members) members.set(m.userId, m)
      }
      else {
        for (const m of message.upsert) members.set(m.userId, m)
        for (const o of message.offline) members.delete(o.userId)
      }
      wake?.()
    },
  })
  return {
    members,
    client,
    async until(test: (m: Map<string, PresenceState>) => boolean, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      while (!test(members)) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`presence did not reach the expected state: ${JSON.stringify([...members.keys()])}`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
    },
    close: () => {
      sub.unsubscribe()
      socket.close()
    },
  }
}

describe.runIf(redisAvailable())('presence across two instances', () => {
  let postgres: PostgresServer | undefined
  let redis: RedisServer | undefined
  const servers: AppServer[] = []
  let a: AppServer
  let b: AppServer

  beforeAll(async () => {
    ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
    const env = { DATABASE_URL: postgres.url('postgres'), REDIS_URL: redis.url, PRESENCE_TTL_SECONDS: String(TTL_SECONDS) }
    a = await startAppServer(env)
    servers.push(a)
    b = await startAppServer(env)
    servers.push(b)
  })
  afterAll(async () => {
    await Promise.all(servers.map(s => s.stop()))
    await redis?.stop()
    await postgres?.stop()
  })

  it('agrees on who is online, and a SIGKILLed instance\'s users go offline by themselves', async () => {
    const suffix = Date.now().toString(36)
    const ana = httpClient(a.baseUrl)
    const anaUser = await ana.client.auth.register.mutate({ email: `ana${suffix}@example.test`, username: `ana${suffix}`, name: 'Ana', password: 'correct horse battery' })
    const ben = httpClient(b.baseUrl)
    const benUser = await ben.client.auth.register.mutate({ email: `ben${suffix}@example.test`, username: `ben${suffix}`, name: 'Ben', password: 'correct horse battery' })
    const project = await ana.client.project.create.mutate({ name: 'Presence' })
    await ana.client.member.add.mutate({ projectId: project.id, username: `ben${suffix}`, role: 'MEMBER' })

    const onA = watchPresence(a.baseUrl, ana.cookie(), project.id)
    const onB = watchPresence(b.baseUrl, ben.cookie(), project.id)
    await onB.until(m => m.has(anaUser.id) && m.has(benUser.id))
    await onA.until(m => m.has(anaUser.id) && m.has(benUser.id))

    // What Ana looks at on A shows on B.
    const task = await ana.client.task.create.mutate({ projectId: project.id, title: 'Look at me' })
    await onA.client.presence.update.mutate({ projectId: project.id, taskId: task.id })
    await onB.until(m => m.get(anaUser.id)?.taskIds.includes(task.id) ?? false)

    process.kill(a.pid, 'SIGKILL')
    const killedAt = Date.now()
    await onB.until(m => !m.has(anaUser.id), (TTL_SECONDS + TTL_SECONDS / 3 + 3) * 1000)
    expect(Date.now() - killedAt).toBeLessThan((TTL_SECONDS + TTL_SECONDS / 3 + 2) * 1000)
    expect(onB.members.has(benUser.id)).toBe(true)
    onA.close()
    onB.close()
  })
})
