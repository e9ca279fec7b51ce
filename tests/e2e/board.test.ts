import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { hasChromium, hydrated, launchChromium } from './helpers'

describe.skipIf(!hasChromium)('board in the browser', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('registers, creates a project and a task, drags it to Done, and keeps it there after a reload', async () => {
    const context = await browser.newContext({ baseURL: inject('baseUrl') })
    const page = await context.newPage()
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    const suffix = Date.now().toString(36)

    await page.goto('/register')
    await hydrated(page)
    await page.getByLabel('Email').fill(`e2e-${suffix}@example.com`)
    await page.getByLabel('Username').fill(`e2e-${suffix}`)
    await page.getByLabel('Name', { exact: true }).fill('Edith Tester')
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL(url => url.pathname === '/')

    // The URL changes before the new page has replaced the register form (which also has a Name
    // field), so address the field inside the home page's "New project" section.
    await page.getByRole('region', { name: 'New project' }).getByRole('textbox', { name: 'Name', exact: true }).fill('Launch plan')
    await page.getByRole('button', { name: 'Create project' }).click()
    await page.waitForURL(/\/projects\/[^/?]+$/)

    const todo = page.getByRole('list', { name: 'To do' })
    const done = page.getByRole('list', { name: 'Done' })
    await page.getByRole('textbox', { name: 'New task in To do' }).fill('Write the launch post')
    await page.getByRole('textbox', { name: 'New task in To do' }).press('Enter')
    // The card shows at once as pending ("(saving)", not draggable); wait for the saved one.
    const card = todo.getByRole('listitem', { name: /-\d+ Write the launch post$/ })
    await card.waitFor()

    const moveSaved = page.waitForResponse(res => res.url().includes('task.move') && res.request().method() === 'POST')
    await card.dragTo(done)
    expect((await moveSaved).ok()).toBe(true)
    await done.getByRole('listitem', { name: /Write the launch post/ }).waitFor()

    await page.reload()
    await hydrated(page)
    await done.getByRole('listitem', { name: /Write the launch post/ }).waitFor()
    expect(await todo.getByRole('listitem', { name: /Write the launch post/ }).count()).toBe(0)

    // A title full of HTML is shown as text, never parsed or executed.
    const evil = '<img src=x onerror=alert(1)>'
    await page.getByRole('textbox', { name: 'New task in To do' }).fill(evil)
    await page.getByRole('textbox', { name: 'New task in To do' }).press('Enter')
    const evilCard = todo.getByRole('listitem', { name: evil })
    await evilCard.waitFor()
    expect(await evilCard.getByRole('link').textContent()).toContain(evil)
    expect(await page.locator('[data-task-id] img').count()).toBe(0)
    expect(dialogs).toEqual([])

    // The list view, server-rendered then hydrated, keeps its rows (and hydrates without mismatch).
    const hydrationWarnings: string[] = []
    page.on('console', (message) => {
      if (/hydration/i.test(message.text())) hydrationWarnings.push(message.text())
    })
    await page.goto(`${new URL(page.url()).pathname}/list`)
    await hydrated(page)
    const row = page.getByRole('row', { name: /Write the launch post/ })
    await row.waitFor()
    expect(await row.getByText('Done').count()).toBeGreaterThan(0)
    expect(hydrationWarnings).toEqual([])

    await context.close()
  })
})
