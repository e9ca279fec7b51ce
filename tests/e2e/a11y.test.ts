import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { axeReport } from './axe'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

/** Goes to `path` and waits until Vue runs it (and, in a project, the live stream is up). */
async function visit(page: Page, path: string, live = false) {
  await page.goto(path)
  await hydrated(page)
  if (live) await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
}

describe.skipIf(!hasChromium)('accessibility', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  describe('no serious or critical axe violation, in light and dark', () => {
    // Scans are slow on a busy machine: each group is its own test, sharing one set of users and data.
    const SCAN_TIMEOUT_MS = 300_000
    let ann: BrowserContext
    let bob: BrowserContext
    let page: Page
    let project: { id: string, key: string }
    let task: { id: string, number: number }

    beforeAll(async () => {
      const baseURL = inject('baseUrl')
      ann = await browser.newContext({ baseURL })
      bob = await browser.newContext({ baseURL })
      await register(ann, 'Ann Archer')
      const { username: bobName } = await register(bob, 'Bob Baker')
      project = await call(ann, 'project.create', { name: 'Accessible plan' })
      await call(ann, 'member.add', { projectId: project.id, username: bobName, role: 'MEMBER' })
      task = await call(ann, 'task.create', { projectId: project.id, title: 'Fix login', priority: 'URGENT', labels: ['auth'] })
      await call(ann, 'task.create', { projectId: project.id, title: 'Write docs', priority: 'HIGH', dueDate: '2020-01-01' })
      await call(ann, 'comment.create', { taskId: task.id, body: 'First **comment**' })
      // Bob moves Ann's task: Ann gets a notification for her center.
      await call(bob, 'task.move', { id: task.id, status: 'IN_PROGRESS' })
      page = await ann.newPage()
    })

    afterAll(async () => {
      await ann?.close()
      await bob?.close()
    })

    it('sign-in (also with an error) and sign-up', async () => {
      const report = axeReport()
      const guest = await browser.newContext({ baseURL: inject('baseUrl') })
      const guestPage = await guest.newPage()
      await visit(guestPage, '/login')
      await report.scan(guestPage, 'login')
      await guestPage.getByLabel('Email or username').fill('nobody')
      await guestPage.getByLabel('Password', { exact: true }).fill('wrong password here')
      await guestPage.getByRole('button', { name: 'Sign in' }).click()
      await guestPage.getByRole('alert').waitFor()
      await report.scan(guestPage, 'login with an error')
      await visit(guestPage, '/register')
      await report.scan(guestPage, 'register')
      await guest.close()
      report.assertNone()
    }, SCAN_TIMEOUT_MS)

    it('home, account menu, notification center and settings pages', async () => {
      const report = axeReport()
      await visit(page, '/')
      await page.getByRole('link', { name: /Accessible plan/ }).first().waitFor()
      await report.scan(page, 'home')

      await page.getByRole('button', { name: /^Account menu/ }).click()
      await page.getByRole('menu', { name: 'Account' }).waitFor()
      await report.scan(page, 'account menu open')
      await page.keyboard.press('Escape')

      await page.getByRole('button', { name: /^Notifications, \d+ unread/ }).click()
      await page.getByRole('dialog', { name: 'Notification center' }).getByRole('list', { name: 'Notifications' }).getByRole('listitem').first().waitFor()
      await report.scan(page, 'notification center open')
      await page.keyboard.press('Escape')

      for (const path of ['/settings/tokens', '/settings/password', '/settings/devices', '/settings/notifications']) {
        await visit(page, path)
        await page.getByRole('heading', { level: 1 }).waitFor()
        await report.scan(page, path)
      }
      report.assertNone()
    }, SCAN_TIMEOUT_MS)

    it('board (and a card menu), list, activity, team and project settings', async () => {
      const report = axeReport()
      const base = `/projects/${project.id}`
      await visit(page, base, true)
      await page.getByRole('listitem', { name: /Fix login/ }).waitFor()
      await report.scan(page, 'board')
      await page.getByRole('button', { name: `Move ${project.key}-${task.number}` }).click()
      await page.getByRole('menu').waitFor()
      await report.scan(page, 'board card menu open')
      await page.keyboard.press('Escape')

      for (const view of ['list', 'activity', 'team', 'settings']) {
        await visit(page, `${base}/${view}`, true)
        await page.locator('#main h1, #main h2').first().waitFor()
        await report.scan(page, view)
      }
      report.assertNone()
    }, SCAN_TIMEOUT_MS)

    it('task panel and conflict dialog', async () => {
      const report = axeReport()
      await visit(page, `/projects/${project.id}?task=${task.id}`, true)
      const panel = page.getByRole('dialog', { name: new RegExp(`${project.key}-${task.number}`) })
      const title = panel.getByRole('textbox', { name: 'Title', exact: true })
      await expect.poll(() => title.inputValue()).toBe('Fix login')
      await panel.getByText('First comment').waitFor()
      await report.scan(page, 'task panel open')

      // A conflict: Ann edits the title while Bob renames the task.
      await title.fill('Fix login on Safari')
      const current = await query<{ version: number }>(bob, 'task.byId', { id: task.id })
      await call(bob, 'task.update', { id: task.id, baseVersion: current.version, patch: { title: 'Fix the login form' } })
      await panel.getByRole('status').filter({ hasText: 'changed by someone else' }).waitFor()
      await panel.getByRole('button', { name: 'Save changes' }).click()
      await page.getByRole('dialog', { name: 'Resolve conflicting changes' }).waitFor()
      await report.scan(page, 'conflict dialog open')
      report.assertNone()
    }, SCAN_TIMEOUT_MS)
  })

  it('focus is visible, kept inside the conflict dialog and the phone sheet, back on the opener when they close', { timeout: 300_000 }, async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    const bob = await browser.newContext({ baseURL })
    await register(ann, 'Ann')
    const { username: bobName } = await register(bob, 'Bob')
    const project = await call<{ id: string, key: string }>(ann, 'project.create', { name: 'Focus' })
    await call(ann, 'member.add', { projectId: project.id, username: bobName, role: 'MEMBER' })
    const task = await call<{ id: string, number: number }>(ann, 'task.create', { projectId: project.id, title: 'Fix login' })
    const ref = `${project.key}-${task.number}`

    const page = await ann.newPage()
    await visit(page, `/projects/${project.id}`, true)

    // The keyboard focus ring shows: an outline of at least 2 px on the focused control.
    await page.keyboard.press('Tab')
    const ring = await page.evaluate(() => {
      const el = document.activeElement!
      const style = getComputedStyle(el)
      return { style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth) }
    })
    expect(ring.style).not.toBe('none')
    expect(ring.width).toBeGreaterThanOrEqual(2)

    // Enter on the card opens the panel; Esc closes it and focus is back on the card's link.
    // The card's title link (its text changes below, when Bob renames the task).
    const link = page.locator(`[data-task-id="${task.id}"] a`)
    const onLink = () => link.evaluate(el => el === document.activeElement)
    await link.focus()
    await page.keyboard.press('Enter')
    const panel = page.getByRole('dialog', { name: new RegExp(ref) })
    const title = panel.getByRole('textbox', { name: 'Title', exact: true })
    await expect.poll(() => title.inputValue()).toBe('Fix login')
    await page.keyboard.press('Escape')
    await panel.waitFor({ state: 'detached' })
    await expect.poll(onLink).toBe(true)

    // The conflict dialog: Tab and Shift+Tab go round inside it; Esc closes it (their version
    // stays) and focus returns to the button that opened it.
    await page.keyboard.press('Enter')
    await expect.poll(() => title.inputValue()).toBe('Fix login')
    await title.fill('Fix login on Safari')
    const current = await query<{ version: number }>(bob, 'task.byId', { id: task.id })
    await call(bob, 'task.update', { id: task.id, baseVersion: current.version, patch: { title: 'Fix the login form' } })
    await panel.getByRole('status').filter({ hasText: 'changed by someone else' }).waitFor()
    await panel.getByRole('button', { name: 'Save changes' }).focus()
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog', { name: 'Resolve conflicting changes' })
    await dialog.waitFor()
    const inDialog = () => dialog.evaluate(el => el.contains(document.activeElement))
    await expect.poll(inDialog).toBe(true)
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab')
      expect(await inDialog()).toBe(true)
    }
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Shift+Tab')
      expect(await inDialog()).toBe(true)
    }
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    // Only the dialog closed, not the panel under it.
    expect(await panel.count()).toBe(1)
    // Back in the panel ("Save changes" was disabled while saving, so the panel itself takes it).
    await expect.poll(() => panel.evaluate(el => el.contains(document.activeElement))).toBe(true)
    await page.keyboard.press('Escape')
    await panel.waitFor({ state: 'detached' })

    // On a phone the panel is a full-screen sheet: modal, so focus stays in it.
    await page.setViewportSize({ width: 390, height: 800 })
    await link.focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => panel.getAttribute('aria-modal')).toBe('true')
    await expect.poll(() => panel.evaluate(el => el.contains(document.activeElement))).toBe(true)
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab')
      expect(await panel.evaluate(el => el.contains(document.activeElement))).toBe(true)
    }
    await page.keyboard.press('Escape')
    await panel.waitFor({ state: 'detached' })
    await expect.poll(onLink).toBe(true)

    await ann.close()
    await bob.close()
  })

  it('the board by keyboard only: Ann opens and moves a card, Bob sees it move and hears it announced', { timeout: 300_000 }, async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    const bob = await browser.newContext({ baseURL })
    await register(ann, 'Ann')
    const { username: bobName } = await register(bob, 'Bob')
    const project = await call<{ id: string, key: string }>(ann, 'project.create', { name: 'Keyboard' })
    await call(ann, 'member.add', { projectId: project.id, username: bobName, role: 'MEMBER' })
    const task = await call<{ id: string, number: number }>(ann, 'task.create', { projectId: project.id, title: 'Ship the beta' })
    const ref = `${project.key}-${task.number}`

    const annPage = await ann.newPage()
    const bobPage = await bob.newPage()
    for (const page of [annPage, bobPage]) await visit(page, `/projects/${project.id}`, true)

    // Bob's screen reader region for remote changes: one, polite.
    const announcer = bobPage.locator('[data-live-announcer]')
    expect(await announcer.count()).toBe(1)
    expect(await announcer.getAttribute('aria-live')).toBe('polite')

    // Ann tabs from the top of the page to the card's title link: no mouse anywhere.
    const isOn = (name: string) => annPage.evaluate(n => (document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent?.trim()) === n, name)
    let steps = 0
    while (!await isOn('Ship the beta')) {
      await annPage.keyboard.press('Tab')
      if (++steps > 60) throw new Error('the card\'s link is not reachable with Tab')
    }
    // Enter opens it; Esc closes it again.
    await annPage.keyboard.press('Enter')
    const panel = annPage.getByRole('dialog', { name: new RegExp(ref) })
    await expect.poll(() => panel.getByRole('textbox', { name: 'Title', exact: true }).inputValue()).toBe('Ship the beta')
    await annPage.keyboard.press('Escape')
    await panel.waitFor({ state: 'detached' })

    // Focus is back on the title; Shift+Tab reaches the card's "Move" button; Enter opens the menu.
    await expect.poll(() => isOn('Ship the beta')).toBe(true)
    while (!await isOn(`Move ${ref}`)) {
      await annPage.keyboard.press('Shift+Tab')
      if (++steps > 80) throw new Error('the card\'s Move button is not reachable with Tab')
    }
    await annPage.keyboard.press('Enter')
    await annPage.getByRole('menu', { name: `Move ${ref}` }).waitFor()
    // To "Move to Done" (the last move, just above "Delete"), Enter.
    await annPage.keyboard.press('End')
    await expect.poll(() => isOn('Delete')).toBe(true)
    await annPage.keyboard.press('ArrowUp')
    await expect.poll(() => isOn('Move to Done')).toBe(true)
    const moved = annPage.waitForResponse(res => res.url().includes('task.move'))
    await annPage.keyboard.press('Enter')
    expect((await moved).ok()).toBe(true)
    // Focus follows the card into its new column, so Ann can go on moving it.
    await expect.poll(() => isOn(`Move ${ref}`)).toBe(true)
    expect(await annPage.getByRole('list', { name: 'Done' }).evaluate(el => el.contains(document.activeElement))).toBe(true)

    // Bob sees the card in Done and his screen reader is told who moved what where.
    await bobPage.getByRole('list', { name: 'Done' }).getByRole('listitem', { name: /Ship the beta/ }).waitFor()
    await expect.poll(() => announcer.textContent(), { timeout: 30_000 }).toContain(`Ann moved ${ref} to Done`)

    // A comment and an edit are announced too.
    await call(ann, 'comment.create', { taskId: task.id, body: 'Shipped' })
    await expect.poll(() => announcer.textContent(), { timeout: 30_000 }).toContain(`Ann commented on ${ref}`)
    const current = await query<{ version: number }>(ann, 'task.byId', { id: task.id })
    await call(ann, 'task.update', { id: task.id, baseVersion: current.version, patch: { priority: 'HIGH' } })
    await expect.poll(() => announcer.textContent(), { timeout: 30_000 }).toContain(`Ann changed the priority of ${ref}`)
    // Ann's own changes are not announced to herself.
    expect(await annPage.locator('[data-live-announcer]').textContent()).not.toContain('Ann')

    await ann.close()
    await bob.close()
  })
})
