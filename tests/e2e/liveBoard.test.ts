import type { Browser, WebSocketRoute } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

describe.skipIf(!hasChromium)('live board with two users', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('shows the other user\'s move without a reload, and catches up after the socket was cut', async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    const bob = await browser.newContext({ baseURL })

    await register(ann, 'Ann')
    const { username: bobName } = await register(bob, 'Bob')
    const project = await call<{ id: string, key: string }>(ann, 'project.create', { name: 'Live plan' })
    await call(ann, 'member.add', { projectId: project.id, username: bobName, role: 'MEMBER' })
    const first = await call<{ number: number }>(ann, 'task.create', { projectId: project.id, title: 'Ship the beta' })
    const second = await call<{ number: number }>(ann, 'task.create', { projectId: project.id, title: 'Write release notes' })

    // Bob's socket goes through a route the test can cut, like a network drop would: emulated
    // offline mode alone stops new connections but does not close an open WebSocket.
    let cut = false
    const bobSockets: WebSocketRoute[] = []
    await bob.routeWebSocket(/\/api\/trpc-ws/, (ws) => {
      if (cut) {
        void ws.close({ code: 4000, reason: 'network down (test)' })
        return
      }
      ws.connectToServer()
      bobSockets.push(ws)
    })

    const annPage = await ann.newPage()
    const bobPage = await bob.newPage()
    for (const page of [annPage, bobPage]) {
      await page.goto(`/projects/${project.id}`)
      await hydrated(page)
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    }

    const bobDone = bobPage.getByRole('list', { name: 'Done' })
    const bobTodo = bobPage.getByRole('list', { name: 'To do' })
    await bobTodo.getByRole('listitem', { name: /Ship the beta/ }).waitFor()

    // Ann moves a card to Done through its menu; Bob sees it arrive there.
    const moved = annPage.waitForResponse(res => res.url().includes('task.move'))
    await annPage.getByRole('button', { name: `Move ${project.key}-${first.number}` }).click()
    await annPage.getByRole('menuitem', { name: 'Move to Done' }).click()
    expect((await moved).ok()).toBe(true)
    await bobDone.getByRole('listitem', { name: /Ship the beta/ }).waitFor()
    expect(await bobTodo.getByRole('listitem', { name: /Ship the beta/ }).count()).toBe(0)

    // Bob's network drops: his socket closes and cannot reconnect; the header says so.
    cut = true
    await bob.setOffline(true)
    await Promise.all(bobSockets.splice(0).map(ws => ws.close({ code: 4000, reason: 'network down (test)' })))
    await bobPage.getByRole('status').filter({ hasText: 'Offline' }).waitFor()

    // Ann changes things meanwhile.
    const movedAgain = annPage.waitForResponse(res => res.url().includes('task.move'))
    await annPage.getByRole('button', { name: `Move ${project.key}-${second.number}` }).click()
    await annPage.getByRole('menuitem', { name: 'Move to In progress' }).click()
    expect((await movedAgain).ok()).toBe(true)
    await annPage.getByRole('textbox', { name: 'New task in To do' }).fill('Plan the party')
    await annPage.getByRole('textbox', { name: 'New task in To do' }).press('Enter')
    await annPage.getByRole('list', { name: 'To do' }).getByRole('listitem', { name: /-\d+ Plan the party$/ }).waitFor()
    expect(await bobPage.getByRole('listitem', { name: /Plan the party/ }).count()).toBe(0)

    // Back online: the socket reconnects, resubscribes from the last event, and the board catches up.
    cut = false
    await bob.setOffline(false)
    await bobPage.getByRole('list', { name: 'In progress' }).getByRole('listitem', { name: /Write release notes/ }).waitFor({ timeout: 60_000 })
    await bobTodo.getByRole('listitem', { name: /Plan the party/ }).waitFor({ timeout: 60_000 })
    await bobPage.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    expect(await bobTodo.getByRole('listitem', { name: /Write release notes/ }).count()).toBe(0)
    // Nothing was applied twice.
    expect(await bobPage.getByRole('listitem', { name: /Plan the party/ }).count()).toBe(1)

    // The list view follows too: a task Ann adds shows up as a row on Bob's list.
    await bobPage.getByRole('link', { name: 'List', exact: true }).click()
    await bobPage.getByRole('row', { name: /Plan the party/ }).waitFor()
    await annPage.getByRole('textbox', { name: 'New task in To do' }).fill('Order the cake')
    await annPage.getByRole('textbox', { name: 'New task in To do' }).press('Enter')
    await bobPage.getByRole('row', { name: /Order the cake/ }).waitFor()

    // Bob opens a task; Ann renames it; Bob's panel (no edits of his) shows the new title.
    await bobPage.getByRole('row', { name: /Ship the beta/ }).getByRole('link').click()
    const title = bobPage.getByRole('dialog').getByRole('textbox', { name: 'Title' })
    await expect.poll(() => title.inputValue()).toBe('Ship the beta')
    const tasks = await query<{ id: string, title: string, version: number }[]>(ann, 'task.list', { projectId: project.id })
    const beta = tasks.find(t => t.title === 'Ship the beta')!
    await call(ann, 'task.update', { id: beta.id, baseVersion: beta.version, patch: { title: 'Ship the beta today' } })
    await expect.poll(() => title.inputValue(), { timeout: 30_000 }).toBe('Ship the beta today')

    // With unsaved edits, a remote change is announced and Bob's edits stay.
    await title.fill('Ship the beta tonight')
    const latest = await query<{ version: number }>(ann, 'task.byId', { id: beta.id })
    await call(ann, 'task.update', { id: beta.id, baseVersion: latest.version, patch: { priority: 'HIGH' } })
    await bobPage.getByRole('dialog').getByRole('status').filter({ hasText: 'changed by someone else' }).waitFor()
    expect(await title.inputValue()).toBe('Ship the beta tonight')

    // A comment Ann writes appears in Bob's open panel.
    await call(ann, 'comment.create', { taskId: beta.id, body: 'Looks good to me' })
    await bobPage.getByRole('dialog').getByText('Looks good to me').waitFor()

    await ann.close()
    await bob.close()
  })
})
