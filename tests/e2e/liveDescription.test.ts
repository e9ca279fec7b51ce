// Issue 17 in real browsers against the production build: two people typing into the same paragraph
// of a description converge on both words; each sees the other's cursor with their name; a third who
// opens it late reads the same; one goes offline, both type, it comes back, and nothing is lost.
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

describe.skipIf(!hasChromium)('a description edited together, live', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** The task panel's shared editor, once it has synced and may be typed into. */
  async function openEditor(context: BrowserContext, projectId: string, taskId: string) {
    const page = await context.newPage()
    await page.goto(`/projects/${projectId}?task=${taskId}`)
    await hydrated(page)
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    const editor = page.getByRole('dialog').getByTestId('description-editor')
    await editor.and(page.locator('[contenteditable="true"]')).waitFor()
    return { page, editor }
  }

  /** The editor's text, without the other people's cursor widgets (their names are in the DOM too). */
  function textOf(page: Page) {
    return page.getByRole('dialog').getByTestId('description-editor').evaluate((content) => {
      return [...content.querySelectorAll('.cm-line')].map((line) => {
        const copy = line.cloneNode(true) as Element
        for (const widget of copy.querySelectorAll('.cm-ySelectionCaret, .cm-ySelectionInfo, .cm-placeholder')) widget.remove()
        return copy.textContent ?? ''
      }).join('\n')
    })
  }

  /** Types at the end of the first paragraph (the same place for everyone). */
  async function typeAtEndOfFirstLine(page: Page, words: string) {
    const line = page.getByRole('dialog').locator('.cm-line').first()
    await line.click()
    await page.keyboard.press('End')
    await page.keyboard.type(words, { delay: 25 })
  }

  it('merges two people typing at once, shows cursors, serves a late joiner, and keeps offline edits', async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    const bob = await browser.newContext({ baseURL })
    const cat = await browser.newContext({ baseURL })
    const suffix = Math.random().toString(36).slice(2, 6)
    const annName = `Ann ${suffix}`
    await register(ann, annName)
    const { username: bobUser } = await register(bob, `Bob ${suffix}`)
    const { username: catUser } = await register(cat, `Cat ${suffix}`)
    const project = await call<{ id: string }>(ann, 'project.create', { name: 'Live notes' })
    await call(ann, 'member.add', { projectId: project.id, username: bobUser, role: 'MEMBER' })
    await call(ann, 'member.add', { projectId: project.id, username: catUser, role: 'VIEWER' })
    const task = await call<{ id: string }>(ann, 'task.create', { projectId: project.id, title: 'Launch notes', description: 'Fruit:' })

    const a = await openEditor(ann, project.id, task.id)
    const b = await openEditor(bob, project.id, task.id)
    await expect.poll(() => textOf(b.page)).toBe('Fruit:')

    // Both type into the same paragraph at the same time.
    await Promise.all([typeAtEndOfFirstLine(a.page, ' apples'), typeAtEndOfFirstLine(b.page, ' bananas')])
    await expect.poll(async () => {
      const [left, right] = [await textOf(a.page), await textOf(b.page)]
      return left === right && left!.includes(' apples') && left!.includes(' bananas')
    }, { timeout: 15_000 }).toBe(true)

    // Ann's cursor, in her name, in Bob's editor (the "is typing" line of the description).
    await b.page.getByRole('dialog').locator('.cm-ySelectionInfo', { hasText: annName }).waitFor()

    // A viewer opening it late reads the same text and cannot type.
    const catPage = await cat.newPage()
    await catPage.goto(`/projects/${project.id}?task=${task.id}`)
    await hydrated(catPage)
    const catEditor = catPage.getByRole('dialog').getByTestId('description-editor')
    await expect.poll(() => textOf(catPage)).toBe(await textOf(a.page))
    expect(await catEditor.getAttribute('contenteditable')).toBe('false')

    // Ann goes offline; both type; she comes back: both edits are there, with no conflict dialog.
    await ann.setOffline(true)
    await a.page.getByRole('status').filter({ hasText: 'Offline' }).waitFor()
    await typeAtEndOfFirstLine(a.page, ' cherries')
    await typeAtEndOfFirstLine(b.page, ' dates')
    await ann.setOffline(false)
    await expect.poll(async () => {
      const [left, right, viewer] = [await textOf(a.page), await textOf(b.page), await textOf(catPage)]
      return left === right && right === viewer && ['apples', 'bananas', 'cherries', 'dates'].every(w => left!.includes(w))
    }, { timeout: 30_000 }).toBe(true)
    expect(await a.page.getByRole('dialog', { name: /conflict/i }).count()).toBe(0)

    // The stored description follows once the edits settle.
    const finalText = await textOf(a.page)
    await expect.poll(async () => (await query<{ description: string }>(bob, 'task.byId', { id: task.id })).description, { timeout: 20_000 }).toBe(finalText)
    await Promise.all([ann.close(), bob.close(), cat.close()])
  })
})
