import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

describe.skipIf(!hasChromium)('conflicting edits of one task by two users', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('both rename it at once: one resolves the conflict dialog, both end with the same title', async () => {
    const baseURL = inject('baseUrl')
    const ann = await browser.newContext({ baseURL })
    const bob = await browser.newContext({ baseURL })
    await register(ann, 'Ann')
    const { username: bobName } = await register(bob, 'Bob')
    const project = await call<{ id: string }>(ann, 'project.create', { name: 'Conflicts' })
    await call(ann, 'member.add', { projectId: project.id, username: bobName, role: 'MEMBER' })
    const task = await call<{ id: string }>(ann, 'task.create', { projectId: project.id, title: 'Fix login' })

    const annPage = await ann.newPage()
    const bobPage = await bob.newPage()
    const pages = [annPage, bobPage]
    const titleOf = (page: Page) => page.getByRole('textbox', { name: 'Title', exact: true })
    for (const page of pages) {
      await page.goto(`/projects/${project.id}?task=${task.id}`)
      await hydrated(page)
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
      await expect.poll(() => titleOf(page).inputValue()).toBe('Fix login')
    }

    const titles = new Map<Page, string>([[annPage, 'Fix login on Safari'], [bobPage, 'Fix the login form']])
    for (const page of pages) await titleOf(page).fill(titles.get(page)!)
    // Both save in the same moment, each on the version they opened.
    await Promise.all(pages.map(page => page.getByRole('button', { name: 'Save changes' }).click()))

    // Exactly one of them was second: their save was refused with both sides shown.
    const conflictDialog = (page: Page) => page.getByRole('dialog', { name: 'Resolve conflicting changes' })
    let loser: Page | undefined
    await expect.poll(async () => {
      const open = []
      for (const page of pages) if (await conflictDialog(page).count()) open.push(page)
      loser = open[0]
      return open.length
    }, { timeout: 30_000 }).toBe(1)
    const winner = loser === annPage ? bobPage : annPage
    const [loserTitle, winnerTitle] = [titles.get(loser!)!, titles.get(winner)!]
    const winnerName = winner === annPage ? 'Ann' : 'Bob'

    const dialog = conflictDialog(loser!)
    const titleGroup = dialog.getByRole('group', { name: 'Title' })
    await titleGroup.getByText(winnerTitle).waitFor()
    await titleGroup.getByText(loserTitle).waitFor()
    await titleGroup.getByText(winnerName).waitFor()
    // Focus moved into the dialog.
    expect(await dialog.evaluate(el => el.contains(document.activeElement))).toBe(true)

    // The second one keeps their own title and applies it on the current version.
    await titleGroup.getByRole('radio', { name: 'Keep mine' }).check()
    const applied = loser!.waitForResponse(res => res.url().includes('task.update'))
    await dialog.getByRole('button', { name: 'Apply' }).click()
    expect((await applied).ok()).toBe(true)
    await dialog.waitFor({ state: 'detached' })

    // Both panels converge on it without a reload, and so does the server.
    for (const page of pages) await expect.poll(() => titleOf(page).inputValue(), { timeout: 30_000 }).toBe(loserTitle)
    const saved = await query<{ title: string, version: number }>(ann, 'task.byId', { id: task.id })
    expect(saved).toMatchObject({ title: loserTitle, version: 3 })

    // The resolution is in the winner's activity feed of the task, live.
    const feed = winner.getByRole('list', { name: 'Activity' })
    await feed.getByText(`changed the title from '${winnerTitle}' to '${loserTitle}'`).waitFor({ timeout: 30_000 })

    // The winner moves the task to Done: the other one, viewing the project, gets a toast; the mover does not.
    const winnerContext = winner === annPage ? ann : bob
    await call(winnerContext, 'task.move', { id: task.id, status: 'DONE' })
    // (As the task's creator or editor the loser may also get the same words as a notification toast.)
    await loser!.getByRole('status').getByText(`${winnerName} moved '${loserTitle}' to Done`).first().waitFor({ timeout: 30_000 })
    await expect.poll(() => winner.getByRole('combobox', { name: 'Status' }).inputValue(), { timeout: 30_000 }).toBe('DONE')
    expect(await winner.getByText(`moved '${loserTitle}' to Done`).count()).toBe(0)

    await ann.close()
    await bob.close()
  })
})
