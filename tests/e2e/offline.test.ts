import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import superjson from 'superjson'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { fromWireEvent, type ProjectEvent } from '../../shared/events'
import { call, hasChromium, hydrated, launchChromium, query, register, webSocketWithHeaders } from './helpers'

/** The project's events as a service sees them (its own socket, with the user's session cookie), in order. */
async function watchEvents(context: BrowserContext, projectId: string, fromSeq: number) {
  const session = (await context.cookies()).find(c => c.name === 'tt_session')!
  const socket = createWSClient({
    url: inject('baseUrl').replace(/^http/, 'ws') + '/api/trpc-ws',
    WebSocket: webSocketWithHeaders({ cookie: `tt_session=${session.value}` }),
  })
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] })
  const events: ProjectEvent[] = []
  let notify = () => {}
  const sub = client.project.onEvent.subscribe({ projectId, lastEventId: String(fromSeq) }, {
    onData: ({ data }) => {
      events.push(fromWireEvent(data))
      notify()
    },
  })
  return {
    events,
    /** Resolves once `n` events have arrived. */
    async count(n: number) {
      while (events.length < n) await new Promise<void>(resolve => (notify = resolve))
      return events.slice(0, n)
    },
    async close() {
      sub.unsubscribe()
      await socket.close()
    },
  }
}

/** The app's Pinia state in the page (what the UI is drawn from). */
function piniaState<T>(page: Page, pick: string): Promise<T> {
  return page.evaluate((path) => {
    const root = document.querySelector('#__nuxt') as Element & { __vue_app__: { config: { globalProperties: { $pinia: { state: { value: Record<string, unknown> } } } } } }
    let value: unknown = root.__vue_app__.config.globalProperties.$pinia.state.value
    for (const key of path.split('.')) value = (value as Record<string, unknown> | null)?.[key]
    return JSON.parse(JSON.stringify(value ?? null)) as never
  }, pick)
}

describe.skipIf(!hasChromium)('offline writes and reconnects', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('queues a new task and a move made offline, keeps them in localStorage, and sends both in order once online', async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    const me = await register(ann, 'Ann')
    const project = await call<{ id: string, key: string, eventSeq: number }>(ann, 'project.create', { name: 'Train ride' })
    const first = await call<{ id: string, number: number }>(ann, 'task.create', { projectId: project.id, title: 'Ship the beta' })
    const start = await query<{ eventSeq: number }>(ann, 'project.byId', { id: project.id })
    const server = await watchEvents(ann, project.id, start.eventSeq)

    const page = await ann.newPage()
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    const status = page.getByRole('status').filter({ hasText: /Live|Offline|Reconnecting|Connecting/ })
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    const todo = page.getByRole('list', { name: 'To do' })
    const done = page.getByRole('list', { name: 'Done' })
    await todo.getByRole('listitem', { name: /Ship the beta/ }).waitFor()

    await ann.setOffline(true)
    await page.getByRole('status').filter({ hasText: 'Offline' }).waitFor()

    // Offline: a new task (shown as pending) and a move (shown in its new column).
    await page.getByRole('textbox', { name: 'New task in To do' }).fill('Write on the train')
    await page.getByRole('textbox', { name: 'New task in To do' }).press('Enter')
    await todo.getByRole('listitem', { name: /Write on the train \(saving\)$/ }).waitFor()
    await page.getByRole('button', { name: `Move ${project.key}-${first.number}` }).click()
    await page.getByRole('menuitem', { name: 'Move to Done' }).click()
    await done.getByRole('listitem', { name: /Ship the beta/ }).waitFor()
    await status.filter({ hasText: '2 changes waiting' }).waitFor()

    // Kept on the device, under this user's key, in the order they were made.
    const stored = await page.evaluate(key => localStorage.getItem(key), `tt:outbox:${me.id}`)
    expect(stored).not.toBeNull()
    const queued = (JSON.parse(stored!) as { json: { kind: string, input: Record<string, unknown> }[] }).json
    expect(queued.map(i => i.kind)).toEqual(['task.create', 'task.move'])
    expect(queued[0]!.input).toMatchObject({ projectId: project.id, title: 'Write on the train' })
    expect(queued[1]!.input).toMatchObject({ id: first.id, status: 'DONE' })
    // Nothing reached the server yet.
    expect(server.events).toEqual([])

    await ann.setOffline(false)
    const [created, moved] = await server.count(2)
    expect(created).toMatchObject({ type: 'task.created' })
    expect((created!.data as { task: { title: string } }).task.title).toBe('Write on the train')
    expect(moved).toMatchObject({ type: 'task.moved', entityId: first.id })
    expect(moved!.seq).toBe(created!.seq + 1)

    // The page confirms both: a real card with its number, the move kept, nothing waiting.
    await todo.getByRole('listitem', { name: new RegExp(`^${project.key}-\\d+ Write on the train$`) }).waitFor()
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    await expect.poll(() => status.textContent()).not.toContain('waiting')
    expect(await page.evaluate(key => localStorage.getItem(key), `tt:outbox:${me.id}`)).toBeNull()
    expect(await done.getByRole('listitem', { name: /Ship the beta/ }).count()).toBe(1)
    expect(await page.getByRole('listitem', { name: /Write on the train/ }).count()).toBe(1)

    await server.close()
    await ann.close()
  })

  it('after a 4008 close (slow consumer) reconnects, records the code and resumes from the last event', async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    await register(ann, 'Ann')
    const project = await call<{ id: string, key: string }>(ann, 'project.create', { name: 'Busy board' })
    const task = await call<{ id: string }>(ann, 'task.create', { projectId: project.id, title: 'Catch up' })

    // The page's socket goes through a route: the test sees what the page sends, and closes it as the server would.
    const sockets: { route: WebSocketRoute, sent: string[] }[] = []
    let opened = () => {}
    await ann.routeWebSocket(/\/api\/trpc-ws/, (route) => {
      const server = route.connectToServer()
      const socket = { route, sent: [] as string[] }
      route.onMessage((message) => {
        socket.sent.push(String(message))
        server.send(message)
      })
      sockets.push(socket)
      opened()
    })

    const page = await ann.newPage()
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()

    // An event arrives: the subscription now tracks its id.
    await call(ann, 'task.move', { id: task.id, status: 'IN_PROGRESS' })
    await page.getByRole('list', { name: 'In progress' }).getByRole('listitem', { name: /Catch up/ }).waitFor()
    const lastSeq = (await piniaState<Record<string, number>>(page, 'realtime.lastSeq'))[project.id]
    expect(lastSeq).toBeGreaterThan(0)

    const reopened = new Promise<void>(resolve => (opened = resolve))
    await sockets.at(-1)!.route.close({ code: 4008, reason: 'too far behind' })
    await reopened
    expect(await piniaState<{ code: number, reason: string }>(page, 'realtime.lastClose')).toMatchObject({ code: 4008, reason: 'too far behind' })

    // The new socket resumes the subscription from the last event it had.
    const resumed = sockets.at(-1)!
    await expect.poll(() => resumed.sent.find(m => m.includes('project.onEvent'))).toBeTruthy()
    const frame = JSON.parse(resumed.sent.find(m => m.includes('project.onEvent'))!) as { params: { lastEventId?: string } } | { params: { lastEventId?: string } }[]
    const subscription = Array.isArray(frame) ? frame.find(f => JSON.stringify(f).includes('project.onEvent'))! : frame
    expect(subscription.params.lastEventId).toBe(String(lastSeq))
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()

    // And live updates go on over it.
    await call(ann, 'task.move', { id: task.id, status: 'IN_REVIEW' })
    await page.getByRole('list', { name: 'In review' }).getByRole('listitem', { name: /Catch up/ }).waitFor()

    await ann.close()
  })
})
