// The tab's socket client when an instance shuts down gracefully: the server closes with 1012, the
// client reconnects at once (no backoff, under 250 ms of jitter) and resubscribes from its last seq.
// The server is the app's own socket handler over the real router (tests/factories/sockets.ts).
import { createTRPCClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AppRouter } from '~~/server/trpc/routers/_app'
import { SESSION_COOKIE } from '~~/server/services/session'
import type { ProjectEvent } from '~~/shared/events'
import { taskInput } from '../factories'
import { serveRealRouter } from '../factories/realRouter'
import { listenSockets } from '../factories/sockets'
import { TabWebSocket } from '../factories/tabWebSocket'
import { CloseCode, createRealtimeSocket, reconnectDelay } from '~/plugins/trpcWs.client'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

describe('the tab socket on 1012 (service restart)', () => {
  it('reconnects at once, within 250 ms of jitter, only on the first attempt', () => {
    expect(reconnectDelay(0, CloseCode.SERVICE_RESTART, () => 0)).toBe(0)
    expect(reconnectDelay(0, CloseCode.SERVICE_RESTART, () => 0.999)).toBeLessThan(250)
    // Should that attempt fail (the other instance is down too), the usual backoff applies.
    expect(reconnectDelay(1, CloseCode.SERVICE_RESTART, () => 0)).toBe(500)
  })

  it('resubscribes with the last seq it received, after the delay reconnectDelay gives 1012', async () => {
    const server = await serveRealRouter()
    cleanups.push(server.close)
    const sockets = await listenSockets(server.db)
    cleanups.push(sockets.close)
    const { id: projectId } = await server.me.caller.project.create({ name: 'Restart' })
    const newTask = () => server.me.caller.task.create(taskInput(projectId))
    const lastSeq = async () => (await server.db.prisma.projectEvent.findFirstOrThrow({ where: { projectId }, orderBy: { seq: 'desc' }, select: { seq: true } })).seq

    // The tab's socket, as a browser opens it (with its session cookie); what it sends is recorded.
    const sent: string[] = []
    const cookie = `${SESSION_COOKIE}=${server.sessionToken()}`
    class Tab extends TabWebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { headers: { cookie } })
      }

      override send(data: string) {
        sent.push(data)
        super.send(data)
      }
    }
    const subscriptions = () => sent.flatMap(frame => [JSON.parse(frame)].flat() as { method?: string, params?: { path: string, lastEventId?: string } }[])
      .filter(message => message.method === 'subscription')

    const delays: { attempt: number, code: number | null, ms: number }[] = []
    const closes: number[] = []
    const socket = createRealtimeSocket({
      url: sockets.url,
      WebSocket: Tab as unknown as typeof WebSocket,
      onClose: code => closes.push(code),
      onSignedOut: () => {},
      retryDelay: (attempt, code) => {
        const ms = reconnectDelay(attempt, code)
        delays.push({ attempt, code, ms })
        return ms
      },
    })
    cleanups.push(() => socket.close())
    const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
    const seqs: number[] = []
    let started!: () => void
    const subscribed = new Promise<void>(resolve => (started = resolve))
    const sub = client.project.onEvent.subscribe({ projectId }, {
      onStarted: () => started(),
      onData: ({ data }) => seqs.push((data as unknown as ProjectEvent).seq),
      onError: () => {},
    })
    cleanups.push(async () => sub.unsubscribe())
    await subscribed
    await newTask()
    await newTask()
    const last = await lastSeq()
    await vi.waitFor(() => expect(seqs.at(-1)).toBe(last))

    // The instance restarts gracefully.
    sockets.serverSockets[0]!.close(CloseCode.SERVICE_RESTART, 'service restart')
    await vi.waitFor(() => expect(subscriptions()).toHaveLength(2))
    expect(subscriptions()[1]!.params).toMatchObject({ path: 'project.onEvent', lastEventId: String(last) })
    expect(closes).toEqual([CloseCode.SERVICE_RESTART])
    expect(delays).toHaveLength(1)
    expect(delays[0]).toMatchObject({ attempt: 0, code: CloseCode.SERVICE_RESTART })
    expect(delays[0]!.ms).toBeLessThan(250)

    // Resumed: the next event arrives once, right after the last one.
    await newTask()
    await vi.waitFor(() => expect(seqs.at(-1)).toBe(last + 1))
    expect(seqs.slice(-3)).toEqual([last - 1, last, last + 1])
    expect(new Set(seqs).size).toBe(seqs.length)
  })
})
