// The fallback transports (docs/websocket.md, "Fallback transports"): subscriptions over SSE through
// the production tRPC HTTP handler (server/trpc/http.ts) on a real h3 server and a real database, and
// the polling procedures that read the same logs with the same resume ids.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, toNodeListener } from 'h3'
import superjson from 'superjson'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { notificationsSettled } from '../../server/notifications/notifier'
import { SseStreams } from '../../server/realtime/sseStreams'
import { SSE_PING_MS } from '../../server/trpc/init'
import { createTrpcHttpHandler } from '../../server/trpc/http'
import type { Database } from '../../server/utils/db'
import { parseEnv, type Env } from '../../server/utils/env'
import { callerFor, cookieJar, failure, projectWithTeam, signUp, taskInput, TEST_PASSWORD } from '../factories'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

interface SseMessage {
  event?: string
  id?: string
  data?: string
}

/** A GET subscription read off the wire as a browser's EventSource would, message by message. */
function openSse(url: string, headers: Record<string, string>) {
  const controller = new AbortController()
  const messages: SseMessage[] = []
  let ended = false
  const done = (async () => {
    // Aborted by the test before the answer came: nothing to read.
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal }).catch(() => null)
    if (!res) {
      ended = true
      return
    }
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    let buffer = ''
    const decoder = new TextDecoder()
    try {
      const reader = res.body!.getReader()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const message: SseMessage = {}
          for (const line of block.split('\n').filter(Boolean)) {
            const [field, ...rest] = line.split(': ')
            if (field === 'event' || field === 'id' || field === 'data') message[field] = rest.join(': ')
          }
          if (Object.keys(message).length) messages.push(message)
        }
      }
    }
    catch {
      // aborted by the test
    }
    ended = true
  })()
  return {
    messages,
    get ended() {
      return ended
    },
    done,
    close: () => controller.abort(),
    /** The `tracked` events: `{ id, data }` as httpSubscriptionLink hands them over. */
    data: () => messages.filter(m => !m.event && m.data !== undefined).map(m => ({ id: m.id, data: superjson.deserialize<Record<string, unknown>>(JSON.parse(m.data!)) })),
    error: () => {
      const m = messages.find(x => x.event === 'serialized-error')
      return m ? superjson.deserialize<{ message: string, data: { code: string } }>(JSON.parse(m.data!)) : null
    },
  }
}

describe.runIf(databaseAvailable)('subscriptions over SSE and the polling fallback', () => {
  let db: Database
  let server: Server
  let base: string
  let env: Env
  let streams: SseStreams
  let restore: (() => void) | undefined
  let maxPerUser = 40
  const open: ReturnType<typeof openSse>[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    const app = createApp()
    app.use(createTrpcHttpHandler({ env: () => env, db: async () => db.prisma }))
    server = createServer(toNodeListener(app))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    env = parseEnv({ NODE_ENV: 'test', PUBLIC_ORIGIN: base })
    streams = new SseStreams({ maxPerUser: () => maxPerUser })
    restore = installTestServices({ sseStreams: streams }).restore
  })
  afterEach(async () => {
    for (const s of open.splice(0)) s.close()
    maxPerUser = 40
    await vi.waitFor(() => expect(streams.size).toBe(0))
  })
  afterAll(async () => {
    restore?.()
    server?.closeAllConnections()
    await new Promise(resolve => server?.close(resolve))
    await db?.close()
  })

  const cookieOf = (u: Awaited<ReturnType<typeof signUp>>) => `tt_session=${u.jar.values.get('tt_session')}`
  const urlOf = (path: string, input: unknown) => `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`
  function subscribe(user: Awaited<ReturnType<typeof signUp>>, path: string, input: unknown, headers: Record<string, string> = {}) {
    const stream = openSse(urlOf(path, input), { cookie: cookieOf(user), ...headers })
    open.push(stream)
    return stream
  }

  it('streams a project\'s events as tracked seqs, from a resume id (backfill, then live)', async () => {
    const { owner, project } = await projectWithTeam(db)
    const first = await owner.caller.task.create(taskInput(project.id, { title: 'Before' }))
    const { eventSeq } = await owner.caller.project.byId({ id: project.id })
    const stream = subscribe(owner, 'project.onEvent', { projectId: project.id, lastEventId: String(eventSeq - 1) })
    await vi.waitFor(() => expect(stream.data()).toHaveLength(1))
    expect(stream.data()[0]).toMatchObject({ id: String(eventSeq), data: { type: 'task.created', entityId: first.id, seq: eventSeq } })
    // The connected message tells the client when to give up on a silent stream (pings keep it alive).
    const connected = stream.messages.find(m => m.event === 'connected')
    expect(JSON.parse(connected!.data!).reconnectAfterInactivityMs).toBeGreaterThan(SSE_PING_MS)

    const second = await owner.caller.task.create(taskInput(project.id, { title: 'Live' }))
    await vi.waitFor(() => expect(stream.data()).toHaveLength(2))
    expect(stream.data()[1]).toMatchObject({ id: String(eventSeq + 1), data: { type: 'task.created', entityId: second.id } })
    expect(streams.size).toBe(1)
  })

  it('resumes from the Last-Event-Id header as EventSource sends it on a reconnect', async () => {
    const { owner, project } = await projectWithTeam(db)
    const { eventSeq } = await owner.caller.project.byId({ id: project.id })
    await owner.caller.task.create(taskInput(project.id))
    await owner.caller.task.create(taskInput(project.id))
    const stream = subscribe(owner, 'project.onEvent', { projectId: project.id, lastEventId: '0' }, { 'last-event-id': String(eventSeq + 1) })
    await vi.waitFor(() => expect(stream.data().map(d => d.id)).toEqual([String(eventSeq + 2)]))
  })

  it('streams the user\'s notifications with the badge count', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const ben = await addMember('MEMBER')
    await notificationsSettled()
    const { lastSeq } = await ben.caller.notification.unreadCount()
    const stream = subscribe(ben, 'notification.onEvent', { lastEventId: String(lastSeq) })
    await vi.waitFor(() => expect(stream.messages.some(m => m.event === 'connected')).toBe(true))
    await owner.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'For Ben' }))
    await vi.waitFor(() => expect(stream.data()).toHaveLength(1))
    expect(stream.data()[0]).toMatchObject({ id: String(lastSeq + 1), data: { kind: 'notification', notification: { type: 'assigned', seq: lastSeq + 1 } } })
  })

  it('stops the generator and frees the slot when the client goes away', async () => {
    const { owner, project } = await projectWithTeam(db)
    maxPerUser = 1
    const stream = subscribe(owner, 'project.onEvent', { projectId: project.id })
    await vi.waitFor(() => expect(streams.size).toBe(1))
    stream.close()
    await vi.waitFor(() => expect(streams.size).toBe(0))
    // The one slot is free again.
    const again = subscribe(owner, 'project.onEvent', { projectId: project.id })
    await vi.waitFor(() => expect(again.messages.some(m => m.event === 'connected')).toBe(true))
    await owner.caller.task.create(taskInput(project.id))
    await vi.waitFor(() => expect(again.data()).toHaveLength(1))
  })

  it('ends the streams of a session that signs out with UNAUTHORIZED, and no other', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const ben = await addMember('MEMBER')
    const mine = subscribe(owner, 'project.onEvent', { projectId: project.id })
    const bens = subscribe(ben, 'project.onEvent', { projectId: project.id })
    await vi.waitFor(() => expect(streams.size).toBe(2))
    await owner.caller.auth.logout()
    await vi.waitFor(() => expect(mine.ended).toBe(true))
    expect(mine.error()).toMatchObject({ data: { code: 'UNAUTHORIZED' } })
    expect(bens.ended).toBe(false)
    await ben.caller.task.create(taskInput(project.id))
    await vi.waitFor(() => expect(bens.data()).toHaveLength(1))
    expect(streams.size).toBe(1)
  })

  it('ends the streams of the user\'s other sessions on a password change, and those of a revoked API token', async () => {
    const { owner, project } = await projectWithTeam(db)
    const jar = cookieJar()
    await (await callerFor(db, { jar })).auth.login({ login: owner.user.username, password: TEST_PASSWORD })
    const other = { ...owner, jar }
    const here = subscribe(owner, 'project.onEvent', { projectId: project.id })
    const there = subscribe(other, 'project.onEvent', { projectId: project.id })
    const { token } = await owner.caller.apiToken.create({ name: 'bench', expiresInDays: null })
    const viaToken = openSse(urlOf('project.onEvent', { projectId: project.id }), { authorization: `Bearer ${token}` })
    open.push(viaToken)
    await vi.waitFor(() => expect(streams.size).toBe(3))

    await owner.caller.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: 'another-long-password' })
    await vi.waitFor(() => expect(there.ended).toBe(true))
    expect(there.error()).toMatchObject({ data: { code: 'UNAUTHORIZED' } })
    expect(here.ended).toBe(false)

    const [listed] = (await owner.caller.apiToken.list()).filter(t => t.name === 'bench')
    await owner.caller.apiToken.revoke({ id: listed!.id })
    await vi.waitFor(() => expect(viaToken.ended).toBe(true))
    expect(viaToken.error()).toMatchObject({ data: { code: 'UNAUTHORIZED' } })
    expect(here.ended).toBe(false)
  })

  it('caps a user\'s SSE streams at SSE_MAX_PER_USER with TOO_MANY_REQUESTS', async () => {
    const { owner, project, addMember } = await projectWithTeam(db)
    const ben = await addMember('MEMBER')
    maxPerUser = 2
    const a = subscribe(owner, 'project.onEvent', { projectId: project.id })
    const b = subscribe(owner, 'notification.onEvent', {})
    await vi.waitFor(() => expect(streams.size).toBe(2))
    const refused = subscribe(owner, 'project.onEvent', { projectId: project.id })
    await refused.done
    expect(refused.error()).toMatchObject({ data: { code: 'TOO_MANY_REQUESTS' } })
    expect(refused.error()!.message).toContain('at most 2')
    // Per user: Ben still gets his.
    const bens = subscribe(ben, 'project.onEvent', { projectId: project.id })
    await vi.waitFor(() => expect(streams.size).toBe(3))
    expect(a.ended || b.ended || bens.ended).toBe(false)
  })

  it('refuses a subscription from a page of another site (Origin), as WebSocket upgrades', async () => {
    const { owner, project } = await projectWithTeam(db)
    const foreign = subscribe(owner, 'project.onEvent', { projectId: project.id }, { origin: 'https://evil.example' })
    await foreign.done
    expect(foreign.error()).toMatchObject({ data: { code: 'FORBIDDEN' } })
    expect(streams.size).toBe(0)
    const ours = subscribe(owner, 'project.onEvent', { projectId: project.id }, { origin: base })
    await vi.waitFor(() => expect(streams.size).toBe(1))
    expect(ours.ended).toBe(false)
  })

  it('answers a non-member or a signed-out client with the error and no stream', async () => {
    const { project } = await projectWithTeam(db)
    const stranger = await signUp(db)
    const theirs = subscribe(stranger, 'project.onEvent', { projectId: project.id })
    await theirs.done
    expect(theirs.error()).toMatchObject({ data: { code: 'NOT_FOUND' } })
    const anon = openSse(urlOf('project.onEvent', { projectId: project.id }), {})
    await anon.done
    expect(anon.error()).toMatchObject({ data: { code: 'UNAUTHORIZED' } })
    expect(streams.size).toBe(0)
  })

  describe('polling', () => {
    it('project.eventsSince pages the log after a resume id, with the stream\'s ids', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const ben = await addMember('MEMBER')
      const { eventSeq } = await owner.caller.project.byId({ id: project.id })
      const tasks = []
      for (let i = 0; i < 3; i++) tasks.push(await owner.caller.task.create(taskInput(project.id)))
      const page = await ben.caller.project.eventsSince({ projectId: project.id, lastEventId: String(eventSeq), limit: 2 })
      expect(page.more).toBe(true)
      expect(page.events.map(e => e.id)).toEqual([String(eventSeq + 1), String(eventSeq + 2)])
      expect(page.events[0]!.data).toMatchObject({ type: 'task.created', entityId: tasks[0]!.id, seq: eventSeq + 1 })
      const rest = await ben.caller.project.eventsSince({ projectId: project.id, lastEventId: page.events[1]!.id })
      expect(rest).toMatchObject({ more: false, events: [{ id: String(eventSeq + 3) }] })
      expect(await ben.caller.project.eventsSince({ projectId: project.id, lastEventId: String(eventSeq + 3) })).toEqual({ events: [], more: false })
    })

    it('project.eventsSince: a removed member gets the log up to their removal, then NOT_FOUND; bad ids are refused', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const ben = await addMember('MEMBER')
      const { eventSeq } = await owner.caller.project.byId({ id: project.id })
      await owner.caller.task.create(taskInput(project.id))
      await owner.caller.member.remove({ projectId: project.id, userId: ben.user.id })
      await owner.caller.task.create(taskInput(project.id, { title: 'After Ben left' }))
      const page = await ben.caller.project.eventsSince({ projectId: project.id, lastEventId: String(eventSeq) })
      expect(page.events.map(e => e.data.type)).toEqual(['task.created', 'member.removed'])
      expect(await failure(ben.caller.project.eventsSince({ projectId: project.id, lastEventId: page.events[1]!.id }))).toMatchObject({ code: 'NOT_FOUND' })
      const stranger = await signUp(db)
      expect(await failure(stranger.caller.project.eventsSince({ projectId: project.id, lastEventId: '0' }))).toMatchObject({ code: 'NOT_FOUND' })
      expect(await failure(owner.caller.project.eventsSince({ projectId: project.id, lastEventId: String(eventSeq + 99) }))).toMatchObject({ code: 'BAD_REQUEST' })
      expect(await failure(owner.caller.project.eventsSince({ projectId: project.id, lastEventId: '-1' }))).toMatchObject({ code: 'BAD_REQUEST' })
    })

    it('notification.eventsSince gives what the stream would have sent, and the badge', async () => {
      const { owner, project, addMember } = await projectWithTeam(db)
      const ben = await addMember('MEMBER')
      await notificationsSettled()
      const { lastSeq } = await ben.caller.notification.unreadCount()
      await owner.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'Polled' }))
      await notificationsSettled()
      const page = await ben.caller.notification.eventsSince({ lastEventId: String(lastSeq) })
      expect(page).toMatchObject({ more: false, events: [{ id: String(lastSeq + 1), data: { kind: 'notification', notification: { type: 'assigned', seq: lastSeq + 1 } } }] })
      expect(page.unreadCount).toBe((await ben.caller.notification.unreadCount()).count)
      expect(await failure(ben.caller.notification.eventsSince({ lastEventId: String(lastSeq + 50) }))).toMatchObject({ code: 'BAD_REQUEST' })
    })
  })
})
