// Keyboard first (issue 15): undo of a move seen by another user, delete with an Undo toast, an
// undo over someone else's change refused, the command palette, board and list shortcuts.
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

describe.skipIf(!hasChromium)('keyboard, undo and the command palette', () => {
  let browser: Browser
  let ann: BrowserContext
  let bob: BrowserContext
  let annPage: Page
  let bobPage: Page
  let project: { id: string, key: string }
  let other: { id: string, key: string }
  const tasks: Record<string, { id: string, number: number }> = {}

  beforeAll(async () => {
    browser = await launchChromium()
    const baseURL = inject('baseUrl')
    ann = await browser.newContext({ baseURL })
    bob = await browser.newContext({ baseURL })
    await register(ann, 'Ann')
    const { username: bobName } = await register(bob, 'Bob')
    project = await call(ann, 'project.create', { name: 'Keys' })
    other = await call(ann, 'project.create', { name: 'Elsewhere' })
    await call(ann, 'member.add', { projectId: project.id, username: bobName, role: 'MEMBER' })
    for (const title of ['Ship the beta', 'Write release notes', 'Fix the login page']) {
      tasks[title] = await call(ann, 'task.create', { projectId: project.id, title })
    }
    tasks.far = await call(ann, 'task.create', { projectId: other.id, title: 'Quarterly planning', description: 'Budget spreadsheet for the zeppelin' })
    annPage = await ann.newPage()
    bobPage = await bob.newPage()
    // Deleting must never ask with the browser's confirm().
    annPage.on('dialog', dialog => void dialog.dismiss().then(() => expect.fail(`unexpected ${dialog.type()}: ${dialog.message()}`)))
    for (const page of [annPage, bobPage]) {
      await page.goto(`/projects/${project.id}`)
      await hydrated(page)
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    }
  })

  afterAll(async () => {
    await browser?.close()
  })

  const card = (page: Page, column: string, title: string) => page.getByRole('list', { name: column }).getByRole('listitem', { name: new RegExp(title) })

  it('undoes and redoes a move with Ctrl+Z / Shift+Ctrl+Z, and the other user sees both live', async () => {
    const ref = `${project.key}-${tasks['Ship the beta']!.number}`
    const moved = annPage.waitForResponse(res => res.url().includes('task.move'))
    await annPage.getByRole('button', { name: `Move ${ref}` }).click()
    await annPage.getByRole('menuitem', { name: 'Move to Done' }).click()
    expect((await moved).ok()).toBe(true)
    await card(bobPage, 'Done', 'Ship the beta').waitFor()

    await annPage.keyboard.press('Control+z')
    await card(annPage, 'To do', 'Ship the beta').waitFor()
    await card(bobPage, 'To do', 'Ship the beta').waitFor()
    // Back in its old place: first in the column, for both.
    await expect.poll(() => bobPage.getByRole('list', { name: 'To do' }).getByRole('listitem').first().getAttribute('aria-label')).toContain('Ship the beta')
    expect(await card(bobPage, 'Done', 'Ship the beta').count()).toBe(0)

    await annPage.keyboard.press('Shift+Control+z')
    await card(bobPage, 'Done', 'Ship the beta').waitFor()
    await annPage.keyboard.press('Control+z')
    await card(bobPage, 'To do', 'Ship the beta').waitFor()
  })

  it('deletes from the card menu at once, with an Undo toast that brings the task back for everyone', async () => {
    const ref = `${project.key}-${tasks['Write release notes']!.number}`
    await annPage.getByRole('button', { name: `Move ${ref}` }).click()
    await annPage.getByRole('menuitem', { name: 'Delete' }).click()
    await bobPage.getByRole('listitem', { name: /Write release notes/ }).waitFor({ state: 'detached' })
    expect(await annPage.getByRole('listitem', { name: /Write release notes/ }).count()).toBe(0)

    const toast = annPage.getByRole('region', { name: 'Notifications' }).filter({ hasText: `${ref} deleted` })
    await toast.getByRole('button', { name: 'Undo' }).click()
    await card(bobPage, 'To do', 'Write release notes').waitFor()
    await card(annPage, 'To do', 'Write release notes').waitFor()
  })

  it('deletes from the open task without confirm(), and Ctrl+Z restores it', async () => {
    await annPage.getByRole('link', { name: 'Fix the login page' }).click()
    await annPage.getByRole('button', { name: 'Delete task' }).click()
    await bobPage.getByRole('listitem', { name: /Fix the login page/ }).waitFor({ state: 'detached' })
    await annPage.locator('body').press('Control+z')
    await card(bobPage, 'To do', 'Fix the login page').waitFor()
  })

  it('refuses to undo over someone else\'s later change of the same field (a conflict, nothing overwritten)', async () => {
    const task = tasks['Ship the beta']!
    const ref = `${project.key}-${task.number}`
    // Ann selects the card with j and sets its priority through the palette.
    await annPage.locator('body').click({ position: { x: 1, y: 1 } })
    await annPage.keyboard.press('j')
    await expect.poll(() => annPage.locator('.task-card.selected').getAttribute('aria-label')).toContain('Ship the beta')
    await annPage.keyboard.press('Control+k')
    const palette = annPage.getByRole('dialog', { name: 'Command palette' })
    const input = palette.getByRole('combobox')
    await expect.poll(() => input.evaluate(el => el === document.activeElement)).toBe(true)
    await input.fill('priority urgent')
    await palette.getByRole('option', { name: `Set priority of ${ref}: Urgent` }).waitFor()
    const saved = annPage.waitForResponse(res => res.url().includes('task.update'))
    await input.press('Enter')
    expect((await saved).ok()).toBe(true)
    await bobPage.getByRole('listitem', { name: /Ship the beta/ }).getByText('Urgent').waitFor()

    // Bob changes the priority after her; Ann's undo must not put hers back over his.
    const current = await query<{ version: number }>(bob, 'task.byId', { id: task.id })
    await call(bob, 'task.update', { id: task.id, baseVersion: current.version, patch: { priority: 'LOW' } })
    await annPage.getByRole('listitem', { name: /Ship the beta/ }).getByText('Low').waitFor()
    await annPage.keyboard.press('Control+z')
    await annPage.getByRole('region', { name: 'Notifications' }).getByText(/Could not undo your edit of .*someone else changed it since/).waitFor()
    expect(await query<{ priority: string }>(bob, 'task.byId', { id: task.id })).toMatchObject({ priority: 'LOW' })
  })

  it('the palette finds a task of another project by a word of its description and opens it', async () => {
    await annPage.keyboard.press('Control+k')
    const palette = annPage.getByRole('dialog', { name: 'Command palette' })
    const input = palette.getByRole('combobox')
    await input.fill('zeppel')
    const option = palette.getByRole('option', { name: `${other.key}-${tasks.far!.number} Quarterly planning` })
    await option.waitFor()
    expect(await input.getAttribute('aria-expanded')).toBe('true')
    await input.press('ArrowDown')
    await input.press('ArrowUp')
    expect(await option.getAttribute('aria-selected')).toBe('true')
    expect(await input.getAttribute('aria-activedescendant')).toBe(await option.getAttribute('id'))
    await input.press('Enter')
    await annPage.waitForURL(url => url.pathname === `/projects/${other.id}` && url.searchParams.get('task') === tasks.far!.id)
    await annPage.getByRole('textbox', { name: 'Title' }).waitFor()

    // Recent first: opened again with nothing typed, that task leads the list; Esc closes.
    await annPage.keyboard.press('Control+k')
    await expect.poll(() => palette.getByRole('option').first().textContent()).toContain('Quarterly planning')
    await annPage.keyboard.press('Escape')
    await palette.waitFor({ state: 'detached' })
  })

  it('board and list shortcuts: j/k, Enter, Esc, g l / g b, ? overlay, never inside inputs', async () => {
    await annPage.goto(`/projects/${project.id}`)
    await hydrated(annPage)
    await annPage.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    const selected = () => annPage.locator('.task-card.selected').getAttribute('aria-label')
    await annPage.keyboard.press('j')
    await expect.poll(selected).toContain('Ship the beta')
    await annPage.keyboard.press('j')
    await expect.poll(selected).toContain('Write release notes')
    await annPage.keyboard.press('k')
    await expect.poll(selected).toContain('Ship the beta')
    await annPage.keyboard.press('Enter')
    await annPage.waitForURL(url => url.searchParams.get('task') === tasks['Ship the beta']!.id)
    await annPage.keyboard.press('Escape')
    await annPage.waitForURL(url => !url.searchParams.has('task'))

    await annPage.keyboard.press('?')
    const help = annPage.getByRole('dialog', { name: 'Keyboard shortcuts' })
    await help.getByText('Go to the list').waitFor()
    await annPage.keyboard.press('Escape')
    await help.waitFor({ state: 'detached' })

    await annPage.keyboard.press('g')
    await annPage.keyboard.press('l')
    await annPage.waitForURL(url => url.pathname === `/projects/${project.id}/list`)
    const search = annPage.getByRole('searchbox', { name: 'Search' })
    await search.fill('')
    await search.pressSequentially('gb j')
    expect(await search.inputValue()).toBe('gb j')
    expect(new URL(annPage.url()).pathname).toBe(`/projects/${project.id}/list`)
    await search.fill('')
    await annPage.locator('body').click({ position: { x: 1, y: 1 } })
    await annPage.keyboard.press('g')
    await annPage.keyboard.press('b')
    await annPage.waitForURL(url => url.pathname === `/projects/${project.id}`)

    // c: the new-task input of To do, where j, k, g… are text again (once the board is shown).
    await card(annPage, 'To do', 'Ship the beta').waitFor()
    await annPage.keyboard.press('c')
    const newTask = annPage.getByRole('textbox', { name: 'New task in To do' })
    await expect.poll(() => newTask.evaluate(el => el === document.activeElement)).toBe(true)
    await annPage.keyboard.type('jk gl typed')
    await annPage.keyboard.press('Enter')
    await card(bobPage, 'To do', 'jk gl typed').waitFor()
    expect(new URL(annPage.url()).pathname).toBe(`/projects/${project.id}`)

    // Delete deletes the selected task (with Undo), Ctrl+Z brings it back, for Bob too.
    await annPage.locator('body').click({ position: { x: 1, y: 1 } })
    // The selection outlived the trip to the list; Esc clears it, so j starts at the top again.
    await annPage.keyboard.press('Escape')
    await expect.poll(() => annPage.locator('.task-card.selected').count()).toBe(0)
    await annPage.keyboard.press('j')
    await expect.poll(selected).toContain('Ship the beta')
    await annPage.keyboard.press('Delete')
    await bobPage.getByRole('listitem', { name: /Ship the beta/ }).waitFor({ state: 'detached' })
    await annPage.keyboard.press('Control+z')
    await card(bobPage, 'To do', 'Ship the beta').waitFor()
  })
})
