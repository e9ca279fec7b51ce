import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, register } from './helpers'

async function open(page: Page, path: string) {
  await page.goto(path)
  await hydrated(page)
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
}

describe.skipIf(!hasChromium)('presence with two users', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('shows who is here, what they look at and who is typing, and when they leave', async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    const bob = await browser.newContext({ baseURL })
    // Names unique to this run, so nothing else on the page can match them.
    const suffix = Math.random().toString(36).slice(2, 6)
    const annName = `Ann ${suffix}`
    await register(ann, annName)
    const { username: bobUser } = await register(bob, `Bob ${suffix}`)
    const project = await call<{ id: string, key: string }>(ann, 'project.create', { name: 'Presence plan' })
    await call(ann, 'member.add', { projectId: project.id, username: bobUser, role: 'MEMBER' })
    const task = await call<{ id: string, number: number }>(ann, 'task.create', { projectId: project.id, title: 'Draft the launch post' })
    const taskRef = `${project.key}-${task.number}`

    const bobPage = await bob.newPage()
    await open(bobPage, `/projects/${project.id}`)
    // The project header's "who else is here" avatars.
    const bobHeader = bobPage.getByRole('list', { name: /online$/ })
    const annInHeader = bobHeader.getByRole('img', { name: new RegExp(`^${annName} — online`) })
    expect(await annInHeader.count()).toBe(0)

    // Ann opens the project: Bob sees her avatar, and a toast once she has stayed a moment.
    const annPage = await ann.newPage()
    await open(annPage, `/projects/${project.id}`)
    await annInHeader.waitFor()
    await bobPage.getByRole('status').filter({ hasText: `${annName} is online` }).waitFor()

    // Both open the task: each panel shows the other as viewing it, with the task's reference.
    await bobPage.goto(`/projects/${project.id}?task=${task.id}`)
    await hydrated(bobPage)
    await annPage.getByRole('listitem', { name: new RegExp(`${taskRef} Draft the launch post`) }).getByRole('link').click()
    const bobPanel = bobPage.getByRole('dialog')
    await bobPanel.getByRole('list', { name: `Also viewing: ${annName}` })
      .getByRole('img', { name: `${annName} — online, viewing ${taskRef}` }).waitFor()
    // …and so does the task's card on Bob's board, behind the panel.
    await bobPage.getByRole('list', { name: 'To do' }).getByRole('listitem', { name: new RegExp(`^${taskRef} Draft the launch post`) })
      .getByRole('img', { name: `${annName} — online, viewing ${taskRef}` }).waitFor()

    // Ann types in the description: Bob sees her cursor there, with her name (the shared editor's
    // cursors replace the description's "is typing" line; tests/e2e/liveDescription.test.ts).
    const description = annPage.getByRole('dialog').getByTestId('description-editor')
    await description.and(annPage.locator('[contenteditable="true"]')).waitFor()
    await description.click()
    await annPage.keyboard.type('Launch on Tuesday', { delay: 30 })
    await bobPanel.locator('.cm-ySelectionInfo', { hasText: annName }).waitFor()
    await expect.poll(() => bobPanel.getByTestId('description-editor').locator('.cm-line').first().textContent()).toContain('Launch on Tuesday')

    // Ann chooses Do not disturb: Bob's header says so.
    await annPage.getByRole('dialog').getByRole('button', { name: 'Close task panel' }).click()
    await annPage.getByRole('button', { name: /^Account menu for/ }).click()
    await annPage.getByRole('menuitemradio', { name: 'Do not disturb' }).click()
    await bobHeader.getByRole('img', { name: `${annName} — online, do not disturb` }).waitFor()
    await annPage.getByRole('button', { name: /^Account menu for .*, Do not disturb$/ }).waitFor()

    // Ann closes her page: her avatar leaves Bob's header, a toast says so, the team page shows when.
    await annPage.close()
    await bobHeader.getByRole('img', { name: new RegExp(`^${annName} — `) }).waitFor({ state: 'detached', timeout: 60_000 })
    await bobPage.getByRole('status').filter({ hasText: `${annName} left` }).waitFor()
    await bobPage.getByRole('navigation', { name: 'Project views' }).getByRole('link', { name: 'Team' }).click()
    await bobPage.getByRole('listitem', { name: new RegExp(`^${annName}, Owner, Offline · last seen just now`) }).waitFor()
    await bobPage.getByRole('listitem', { name: new RegExp(`^Bob ${suffix}, Member, Available`) }).waitFor()

    await ann.close()
    await bob.close()
  })
})
