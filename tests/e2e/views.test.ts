import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, register } from './helpers'

/** Issue 15: My tasks (live), label chips with colours, @mentions — one app server, one browser. */
describe.skipIf(!hasChromium)('My tasks, labels and mentions', () => {
  let browser: Browser
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** A signed-in user in UTC (due dates group by the viewer's day). */
  async function user(name: string) {
    const context = await browser.newContext({ baseURL: inject('baseUrl'), timezoneId: 'UTC' })
    contexts.push(context)
    return { context, ...(await register(context, name)) }
  }

  async function open(context: BrowserContext, path: string): Promise<Page> {
    const page = await context.newPage()
    await page.goto(path)
    await hydrated(page)
    return page
  }

  it('My tasks groups what is assigned to me by due date and follows changes live, also from a project joined later', async () => {
    const ann = await user('Ann Owner')
    const bob = await user('Bob Assignee')
    const a = await call<{ id: string, key: string }>(ann.context, 'project.create', { name: 'Alpha' })
    const b = await call<{ id: string, key: string }>(ann.context, 'project.create', { name: 'Beta' })
    for (const p of [a, b]) await call(ann.context, 'member.add', { projectId: p.id, username: bob.username, role: 'MEMBER' })
    const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`)
    const due = await call<{ id: string, number: number, version: number }>(ann.context, 'task.create', { projectId: a.id, title: 'Renew the certificate', assigneeId: bob.id, dueDate: today })
    await call(ann.context, 'task.create', { projectId: a.id, title: 'Ann keeps this one', assigneeId: ann.id })

    const page = await open(bob.context, '/')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My tasks' }).click()
    await page.waitForURL(url => url.pathname === '/my')
    await expect.poll(() => page.getByRole('link', { name: 'My tasks' }).getAttribute('aria-current')).toBe('page')
    const todayList = page.getByRole('list', { name: 'Today' })
    await todayList.getByRole('listitem', { name: `${a.key}-${due.number}: Renew the certificate` }).waitFor()
    expect(await page.getByRole('listitem', { name: /Ann keeps this one/ }).count()).toBe(0)
    const noDate = page.getByRole('list', { name: 'No due date' })

    // Assigned to Bob in another project: appears, without a reload.
    const assigned = await call<{ id: string, number: number }>(ann.context, 'task.create', { projectId: b.id, title: 'Review the budget' })
    await call(ann.context, 'task.update', { id: assigned.id, baseVersion: 1, patch: { assigneeId: bob.id } })
    await noDate.getByRole('listitem', { name: `${b.key}-${assigned.number}: Review the budget` }).waitFor()

    // Edits show; a new due date moves it between groups.
    await call(ann.context, 'task.update', { id: due.id, baseVersion: due.version, patch: { title: 'Renew the TLS certificate', dueDate: new Date('2020-01-01T00:00:00.000Z') } })
    await page.getByRole('list', { name: 'Overdue' }).getByRole('listitem', { name: /Renew the TLS certificate/ }).waitFor()
    expect(await todayList.count()).toBe(0)

    // Reassigned away: gone.
    await call(ann.context, 'task.update', { id: assigned.id, baseVersion: 2, patch: { assigneeId: ann.id } })
    // (Only the lists count: the notification toasts name the task too.)
    await expect.poll(() => page.getByRole('listitem', { name: /Review the budget/ }).count()).toBe(0)

    // A project Bob joins after the page loaded: its assignment arrives too.
    const c = await call<{ id: string, key: string }>(ann.context, 'project.create', { name: 'Gamma' })
    await call(ann.context, 'member.add', { projectId: c.id, username: bob.username, role: 'MEMBER' })
    const later = await call<{ id: string, number: number }>(ann.context, 'task.create', { projectId: c.id, title: 'Plan the offsite', assigneeId: bob.id })
    await noDate.getByRole('listitem', { name: `${c.key}-${later.number}: Plan the offsite` }).waitFor()
    // …and keeps following it: an edit there shows.
    await call(ann.context, 'task.update', { id: later.id, baseVersion: 1, patch: { title: 'Plan the team offsite' } })
    await noDate.getByRole('listitem', { name: `${c.key}-${later.number}: Plan the team offsite` }).waitFor()

    // A row opens the task on its board.
    await noDate.getByRole('link', { name: 'Plan the team offsite' }).click()
    await page.waitForURL(url => url.pathname === `/projects/${c.id}` && url.searchParams.has('task'))
  })

  it('labels: chips with colours on the board, picked from an autocomplete, renamed in settings for everyone', async () => {
    const ann = await user('Ann Admin')
    const bob = await user('Bob Board')
    const project = await call<{ id: string, key: string }>(ann.context, 'project.create', { name: 'Labelled' })
    await call(ann.context, 'member.add', { projectId: project.id, username: bob.username, role: 'MEMBER' })
    const task = await call<{ id: string, number: number }>(ann.context, 'task.create', { projectId: project.id, title: 'Crash on save' })

    // Ann creates "bug" in red in the project settings.
    const settings = await open(ann.context, `/projects/${project.id}/settings`)
    await settings.getByLabel('New label').fill('bug')
    await settings.getByLabel('Colour', { exact: true }).selectOption('red')
    await settings.getByRole('button', { name: 'Create label' }).click()
    await settings.getByRole('list', { name: 'Project labels' }).getByRole('listitem', { name: 'bug' }).waitFor()

    const board = await open(bob.context, `/projects/${project.id}`)
    await board.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    const card = board.getByRole('listitem', { name: `${project.key}-${task.number} Crash on save` })
    await card.waitFor()

    // Ann tags the task from the keyboard: "bu" + Enter picks "bug"; "ui" + Enter creates a new label.
    const panel = await open(ann.context, `/projects/${project.id}?task=${task.id}`)
    const input = panel.getByRole('combobox', { name: 'Labels' })
    await input.fill('bu')
    await panel.getByRole('option', { name: 'bug' }).waitFor()
    await input.press('Enter')
    await input.fill('ui')
    await panel.getByRole('option', { name: 'Create “ui”' }).waitFor()
    await input.press('Enter')
    await panel.getByRole('list', { name: 'Selected labels' }).getByText('ui').waitFor()
    // Backspace in the empty box takes the last chip off, Enter on the typed name puts it back.
    await input.press('Backspace')
    expect(await panel.getByRole('button', { name: 'Remove label ui' }).count()).toBe(0)
    await input.fill('ui')
    await input.press('Enter')
    await panel.getByRole('button', { name: 'Save changes' }).click()

    // Bob's card shows both chips, "bug" in red, "ui" gray.
    const chip = (name: string) => card.locator('.label-chip', { hasText: name })
    await expect.poll(() => chip('bug').getAttribute('data-color')).toBe('red')
    expect(await chip('ui').getAttribute('data-color')).toBe('gray')

    // Ann renames and recolours "bug" in settings: Bob's card follows without a reload.
    await settings.reload()
    await hydrated(settings)
    const name = settings.getByLabel('Name of bug')
    await name.fill('defect')
    await name.press('Enter')
    await settings.getByLabel('Colour of defect').selectOption('orange')
    await expect.poll(() => chip('defect').getAttribute('data-color')).toBe('orange')
    expect(await chip('bug').count()).toBe(0)
  })

  it('@mentions of members are highlighted links to the person on the team page; other text stays text', async () => {
    const ann = await user('Ann Writer')
    const cleo = await user('Cleo Mentioned')
    const project = await call<{ id: string }>(ann.context, 'project.create', { name: 'Mentions' })
    await call(ann.context, 'member.add', { projectId: project.id, username: cleo.username, role: 'MEMBER' })
    const task = await call<{ id: string }>(ann.context, 'task.create', { projectId: project.id, title: 'Ask Cleo', description: `Over to @${cleo.username} and @nobody-here.` })

    const page = await open(ann.context, `/projects/${project.id}?task=${task.id}`)
    const comment = page.getByRole('textbox', { name: 'Add a comment' })
    await comment.fill(`@${cleo.username} <img src=x onerror="window.pwned=1"> please check`)
    await page.getByRole('button', { name: 'Comment', exact: true }).click()
    // The description's rendered view (writers see it as the editor's preview).
    await page.getByRole('button', { name: 'Preview' }).click()
    const mentions = page.locator('a.mention')
    await expect.poll(() => mentions.count()).toBe(2)
    expect(await mentions.evaluateAll(links => links.map(a => [a.textContent, a.getAttribute('href')]))).toEqual([
      [`@${cleo.username}`, `/projects/${project.id}/team#member-${cleo.username}`],
      [`@${cleo.username}`, `/projects/${project.id}/team#member-${cleo.username}`],
    ])
    // (the hidden live editor holds the same source text: count in the rendered preview only)
    expect(await page.getByRole('region', { name: 'Description preview' }).getByText('@nobody-here').count()).toBe(1)
    expect(await page.getByText('<img src=x onerror="window.pwned=1"> please check').count()).toBe(1)
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined()

    await mentions.last().click()
    await page.waitForURL(url => url.pathname === `/projects/${project.id}/team` && url.hash === `#member-${cleo.username}`)
    const row = page.locator(`#member-${cleo.username}`)
    await expect.poll(() => row.evaluate(el => el.matches(':target'))).toBe(true)
    expect(await row.textContent()).toContain('Cleo Mentioned')
  })
})
