// The rough edges a first use found (issue 15), each checked in the production build: one browser,
// one signed-in user, a desktop window.
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

interface Box { x: number, y: number, width: number, height: number }
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
async function box(locator: Locator): Promise<Box> {
  const b = await locator.boundingBox()
  if (!b) throw new Error('not visible')
  return b
}

describe.skipIf(!hasChromium)('first use', () => {
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let project: { id: string, key: string }
  let me: { id: string, username: string }

  beforeAll(async () => {
    browser = await launchChromium()
    context = await browser.newContext({ baseURL: inject('baseUrl'), viewport: { width: 1280, height: 800 } })
    me = await register(context, 'Fay First')
    project = await call(context, 'project.create', { name: 'First use' })
    page = await context.newPage()
  })

  afterAll(async () => {
    await browser?.close()
  })

  async function openTask(taskId: string) {
    await page.goto(`/projects/${project.id}?task=${taskId}`)
    await hydrated(page)
    const title = page.getByRole('textbox', { name: 'Title', exact: true })
    await title.waitFor()
    return title
  }

  it('saving an empty title shows the error on the title field', async () => {
    const task = await call<{ id: string }>(context, 'task.create', { projectId: project.id, title: 'Has a title' })
    const title = await openTask(task.id)
    await expect.poll(() => title.inputValue()).toBe('Has a title')
    await title.fill('')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await expect.poll(() => page.locator('#task-title-error').textContent()).toBe('Required')
    expect(await title.getAttribute('aria-invalid')).toBe('true')
    await page.getByRole('button', { name: 'Discard', exact: true }).click()
  })

  it('quick add counts near the title limit and refuses a long paste instead of cutting it', async () => {
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    const input = page.getByRole('textbox', { name: 'New task in To do' })
    await input.fill('x'.repeat(190))
    await page.getByText('190/200').waitFor()

    const pasted = 'word '.repeat(2_000)
    await input.fill(pasted)
    const alert = page.getByRole('alert').filter({ hasText: 'Titles are at most 200 characters' })
    await alert.waitFor()
    expect(await alert.textContent()).toContain('9,999')
    expect(await input.inputValue()).toBe(pasted)
    await input.press('Enter')
    // Nothing was created, and the text is still there to shorten.
    const tasks = await query<{ title: string }[]>(context, 'task.list', { projectId: project.id })
    expect(tasks.map(t => t.title)).toEqual(['Has a title'])
    expect(await input.inputValue()).toBe(pasted)
    await input.fill('')
  })

  it('keeps list filters, search and sort in the URL: reload and back button', async () => {
    await call(context, 'task.create', { projectId: project.id, title: 'Alpha urgent', priority: 'URGENT', status: 'IN_PROGRESS' })
    await call(context, 'task.create', { projectId: project.id, title: 'Beta low', priority: 'LOW', status: 'IN_PROGRESS' })
    await page.goto(`/projects/${project.id}/list`)
    await hydrated(page)
    const rows = page.locator('tbody tr td.title')
    await expect.poll(() => rows.count()).toBe(3)

    await page.getByRole('checkbox', { name: 'In progress' }).check()
    await page.waitForURL(url => url.searchParams.get('status') === 'IN_PROGRESS')
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption('title')
    await page.waitForURL(url => url.searchParams.get('sort') === 'title')
    await expect.poll(() => rows.allTextContents()).toEqual(['Alpha urgent', 'Beta low'])
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption('priority')
    await page.waitForURL(url => url.searchParams.get('sort') === 'priority')
    await page.getByRole('searchbox', { name: 'Search' }).fill('low')
    await page.waitForURL(url => url.searchParams.get('q') === 'low')
    await expect.poll(() => rows.allTextContents()).toEqual(['Beta low'])

    // A reload (or the link shared) shows the same.
    await page.reload()
    await hydrated(page)
    expect(await page.getByRole('checkbox', { name: 'In progress' }).isChecked()).toBe(true)
    expect(await page.getByRole('searchbox', { name: 'Search' }).inputValue()).toBe('low')
    expect(await page.getByRole('combobox', { name: 'Sort by' }).inputValue()).toBe('priority')
    await expect.poll(() => rows.allTextContents()).toEqual(['Beta low'])

    // Back undoes the last filter change (the search replaced its entry): sort by title again.
    await page.goBack()
    await page.waitForURL(url => url.searchParams.get('sort') === 'title' && !url.searchParams.has('q'))
    await expect.poll(() => page.getByRole('combobox', { name: 'Sort by' }).inputValue()).toBe('title')
    await expect.poll(() => rows.allTextContents()).toEqual(['Alpha urgent', 'Beta low'])
  })

  it('keeps unsaved edits as a draft: restored on reopen and after a reload (which asks first), discardable', async () => {
    const task = await call<{ id: string }>(context, 'task.create', { projectId: project.id, title: 'Draft me' })
    let title = await openTask(task.id)
    await expect.poll(() => title.inputValue()).toBe('Draft me')
    await title.fill('Draft me, edited')
    await page.getByRole('button', { name: 'Close task panel' }).click()
    await title.waitFor({ state: 'detached' })

    // Reopened: the edit is back, marked as a draft.
    await page.goto(`/projects/${project.id}?task=${task.id}`)
    await hydrated(page)
    title = page.getByRole('textbox', { name: 'Title', exact: true })
    await expect.poll(() => title.inputValue()).toBe('Draft me, edited')
    await page.getByText('Draft', { exact: true }).waitFor()

    // A reload with unsaved edits asks first.
    await title.fill('Draft me, edited twice')
    const asked = page.waitForEvent('dialog')
    const reloaded = page.reload()
    const dialog = await asked
    expect(dialog.type()).toBe('beforeunload')
    await dialog.accept()
    await reloaded
    await hydrated(page)
    title = page.getByRole('textbox', { name: 'Title', exact: true })
    await expect.poll(() => title.inputValue()).toBe('Draft me, edited twice')

    await page.getByRole('button', { name: 'Discard draft' }).click()
    await expect.poll(() => title.inputValue()).toBe('Draft me')
    expect(await page.evaluate(key => localStorage.getItem(key), `tasktracker:draft:${me.id}:${task.id}`)).toBeNull()
    // Nothing was saved on the way.
    expect((await query<{ title: string }>(context, 'task.byId', { id: task.id })).title).toBe('Draft me')
  })

  it('shows toasts where they cover neither the comment box nor its button', async () => {
    const task = await call<{ id: string }>(context, 'task.create', { projectId: project.id, title: 'Toast here' })
    const title = await openTask(task.id)
    await expect.poll(() => title.inputValue()).toBe('Toast here')
    // Scroll the comment box to the bottom of the window, where the toasts used to be.
    const comment = page.getByRole('textbox', { name: /comment/i })
    const send = page.getByRole('button', { name: 'Comment', exact: true })
    await page.locator('.task-panel').evaluate(el => el.scrollTo(0, el.scrollHeight))
    await title.fill('Toast here, saved')
    await page.getByRole('button', { name: 'Save changes' }).click()
    const toast = page.locator('.toast').filter({ hasText: 'saved' })
    await toast.waitFor()
    const toastBox = await box(toast)
    for (const control of [comment, send, page.getByRole('button', { name: 'Close task panel' }), page.locator('.task-panel')]) {
      if (await control.isVisible()) expect(overlaps(toastBox, await box(control))).toBe(false)
    }
  })

  it('lines up the home page\'s Name and Key inputs, and the team page\'s columns', async () => {
    await page.goto('/')
    await hydrated(page)
    const name = await box(page.getByRole('textbox', { name: 'Name' }))
    const key = await box(page.getByRole('textbox', { name: 'Key (optional)' }))
    expect(Math.abs(name.y - key.y)).toBeLessThan(1)

    const other = await browser.newContext({ baseURL: inject('baseUrl') })
    const { username } = await register(other, 'Vic Viewer-with-a-long-name')
    await other.close()
    await call(context, 'member.add', { projectId: project.id, username, role: 'VIEWER' })
    await page.goto(`/projects/${project.id}/team`)
    await hydrated(page)
    const rows = page.getByRole('list', { name: 'Members' }).getByRole('listitem')
    await expect.poll(() => rows.count()).toBe(2)
    const roles = await Promise.all([0, 1].map(i => box(rows.nth(i).locator('.role'))))
    const statuses = await Promise.all([0, 1].map(i => box(rows.nth(i).locator('.status'))))
    expect(Math.abs(roles[0]!.x - roles[1]!.x)).toBeLessThan(1)
    expect(Math.abs(statuses[0]!.x - statuses[1]!.x)).toBeLessThan(1)
  })
})
