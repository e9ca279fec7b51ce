import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, register } from './helpers'

describe.skipIf(!hasChromium)('notifications in the browser', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('Ana assigns Ben and mentions him: his badge goes to 2 live, the center links to the task, and the badge drops', async () => {
    const baseURL = inject('baseUrl')
    const ana = await browser.newContext({ baseURL })
    const ben = await browser.newContext({ baseURL })
    const anaUser = await register(ana, 'Ana')
    const benUser = await register(ben, 'Ben')
    // Ben owns the project and invites Ana: he has nothing unread when the test starts.
    const project = await call<{ id: string }>(ben, 'project.create', { name: 'Login revamp' })
    await call(ben, 'member.add', { projectId: project.id, username: anaUser.username, role: 'MEMBER' })

    const page = await ben.newPage()
    // The notification stream's "started" answer: from then on, news arrives over the socket.
    const subscribed = new Promise<void>((resolve) => {
      page.on('websocket', (ws) => {
        let requestId: unknown
        const parse = (payload: string | Buffer) => {
          try {
            return JSON.parse(String(payload)) as { id?: unknown, method?: string, params?: { path?: string }, result?: { type?: string } }
          }
          catch {
            return null // PING / PONG
          }
        }
        ws.on('framesent', ({ payload }) => {
          const frame = parse(payload)
          if (frame?.method === 'subscription' && frame.params?.path === 'notification.onEvent') requestId = frame.id
        })
        ws.on('framereceived', ({ payload }) => {
          const frame = parse(payload)
          if (requestId !== undefined && frame?.id === requestId && frame.result?.type === 'started') resolve()
        })
      })
    })
    await page.goto('/')
    await hydrated(page)
    const bell = page.getByRole('button', { name: /^Notifications/ })
    await bell.waitFor()
    await subscribed
    expect(await bell.getAttribute('aria-label')).toBe('Notifications')

    const task = await call<{ id: string }>(ana, 'task.create', { projectId: project.id, title: 'Fix login', assigneeId: benUser.id })
    await call(ana, 'comment.create', { taskId: task.id, body: `@${benUser.username} can you look at the redirect?` })

    // No reload: the badge follows the stream, and so does the page title.
    await page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor()
    await expect.poll(() => page.title()).toMatch(/^\(2\) /)

    await page.getByRole('button', { name: 'Notifications, 2 unread' }).click()
    const center = page.getByRole('dialog', { name: 'Notification center' })
    await center.getByRole('link', { name: /assigned you to 'Fix login'/ }).waitFor()
    const mention = center.getByRole('link', { name: /Ana mentioned you in a comment on 'Fix login'/ })
    expect(await mention.getAttribute('href')).toBe(`/projects/${project.id}?task=${task.id}`)
    await mention.click()

    // The task opens, and what it was about is read: the badge drops to nothing.
    await page.waitForURL(url => url.pathname === `/projects/${project.id}` && url.searchParams.get('task') === task.id)
    await expect.poll(async () => page.getByRole('dialog').getByRole('textbox', { name: 'Title' }).inputValue().catch(() => '')).toBe('Fix login')
    await page.getByRole('button', { name: 'Notifications', exact: true }).waitFor()
    await expect.poll(() => page.title()).not.toMatch(/^\(/)

    // Read on the server too.
    const res = await ben.request.get(`${baseURL}/api/trpc/notification.unreadCount`)
    expect(((await res.json()) as { result: { data: { json: { count: number } } } }).result.data.json.count).toBe(0)
    await ana.close()
    await ben.close()
  })
})
