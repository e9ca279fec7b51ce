import { createTRPCClient, createWSClient, TRPCClientError, wsLink, type TRPCClient } from '@trpc/client'
import superjson from 'superjson'
import { afterAll, describe, expect, inject, it } from 'vitest'
import WebSocket from 'ws'
import type { AppRouter } from '../../server/trpc/routers/_app'
import type { ProjectEventWire } from '../../shared/events'
import { httpClient, webSocketWithHeaders } from './helpers'

const baseUrl = inject('baseUrl')
const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`

async function signUp() {
  const http = httpClient(baseUrl)
  const name = `rt${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  await http.client.auth.register.mutate({ email: `${name}@example.test`, username: name, name: `Realtime ${name}`, password: 'correct horse battery' })
  expect(http.cookie()).toMatch(/^tt_session=/)
  return http
}

const sockets: ReturnType<typeof createWSClient>[] = []
function wsClient(opts: { headers?: Record<string, string>, token?: string } = {}): TRPCClient<AppRouter> {
  const socket = createWSClient({
    url: wsUrl,
    WebSocket: webSocketWithHeaders(opts.headers ?? {}),
    connectionParams: opts.token ? { token: opts.token } : undefined,
    retryDelayMs: () => 200,
  })
  sockets.push(socket)
  return createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
}

/** Subscribes and collects events; `next()` resolves with the next one (no sleeping). */
function collect(client: TRPCClient<AppRouter>, input: { projectId: string, lastEventId?: string | null }) {
  const events: { id: string, data: ProjectEventWire }[] = []
  let waiter: (() => void) | null = null
  let failed: unknown = null
  let started!: () => void
  const startedPromise = new Promise<void>((resolve) => {
    started = resolve
  })
  const sub = client.project.onEvent.subscribe(input, {
    onStarted: () => started(),
    onData: (item) => {
      // The named form: no `wire: 2` asked.
      events.push(item as { id: string, data: ProjectEventWire })
      waiter?.()
    },
    onError: (error) => {
      failed = error
      waiter?.()
      started()
    },
  })
  let read = 0
  return {
    started: startedPromise,
    error: () => failed,
    async next() {
      while (read >= events.length && !failed) await new Promise<void>(r => (waiter = r))
      if (read >= events.length) throw failed
      return events[read++]!
    },
    unsubscribe: () => sub.unsubscribe(),
  }
}

describe('real-time over /api/trpc-ws', () => {
  afterAll(async () => {
    await Promise.all(sockets.map(s => s.close()))
  })

  it('delivers a task update made over HTTP to a member subscribed with the session cookie', async () => {
    const owner = await signUp()
    const member = await signUp()
    const project = await owner.client.project.create.mutate({ name: 'Realtime e2e' })
    const memberName = (await member.client.auth.me.query())!.username
    await owner.client.member.add.mutate({ projectId: project.id, username: memberName, role: 'MEMBER' })
    const task = await owner.client.task.create.mutate({ projectId: project.id, title: 'Watch me' })
    const seqBefore = (await owner.client.project.byId.query({ id: project.id })).eventSeq

    const stream = collect(wsClient({ headers: { cookie: member.cookie() } }), { projectId: project.id })
    await stream.started
    expect(stream.error()).toBeNull()

    await owner.client.task.update.mutate({ id: task.id, baseVersion: task.version, patch: { title: 'Watched' } })
    const received = await stream.next()
    expect(received.id).toBe(String(seqBefore + 1))
    expect(received.data).toMatchObject({ seq: seqBefore + 1, type: 'task.updated', entityId: task.id, data: { changes: { title: { from: 'Watch me', to: 'Watched' } } } })
    expect(new Date(received.data.createdAt).toISOString()).toBe(received.data.createdAt)

    // Resuming from an earlier id replays exactly what came after it.
    const resumed = collect(wsClient({ headers: { cookie: member.cookie() } }), { projectId: project.id, lastEventId: String(seqBefore - 1) })
    expect((await resumed.next()).id).toBe(String(seqBefore))
    expect((await resumed.next()).id).toBe(String(seqBefore + 1))
    stream.unsubscribe()
    resumed.unsubscribe()
  })

  it('authenticates a socket with a personal API token in connectionParams', async () => {
    const owner = await signUp()
    const project = await owner.client.project.create.mutate({ name: 'Token socket' })
    const { token } = await owner.client.apiToken.create.mutate({ name: 'socket', expiresInDays: 1 })
    const client = wsClient({ token })
    const me = await owner.client.auth.me.query()
    expect(await client.auth.me.query()).toMatchObject({ id: me!.id, username: me!.username })
    const stream = collect(client, { projectId: project.id })
    await stream.started
    await owner.client.project.update.mutate({ id: project.id, name: 'Token socket!' })
    expect((await stream.next()).data).toMatchObject({ type: 'project.updated', projectId: project.id })
    stream.unsubscribe()
  })

  it('answers UNAUTHORIZED to a subscription on an unauthenticated socket, NOT_FOUND to a non-member', async () => {
    const owner = await signUp()
    const project = await owner.client.project.create.mutate({ name: 'Private' })
    const anonymous = collect(wsClient(), { projectId: project.id })
    await expect(anonymous.next()).rejects.toSatisfy(e => e instanceof TRPCClientError && e.data?.code === 'UNAUTHORIZED')

    const outsider = await signUp()
    const denied = collect(wsClient({ headers: { cookie: outsider.cookie() } }), { projectId: project.id })
    await expect(denied.next()).rejects.toSatisfy(e => e instanceof TRPCClientError && e.data?.code === 'NOT_FOUND')
  })

  it('refuses the upgrade from a foreign Origin with 403, accepts its own origin', async () => {
    const status = (origin: string) => new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(wsUrl, { headers: { origin } })
      socket.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0)
        socket.terminate()
      })
      socket.once('open', () => {
        resolve(101)
        socket.close()
      })
      socket.once('error', (error) => {
        if (socket.readyState !== WebSocket.CLOSED) reject(error)
      })
    })
    expect(await status('https://evil.example')).toBe(403)
    expect(await status(baseUrl)).toBe(101)
  })
})
