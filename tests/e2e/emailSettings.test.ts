// Settings → Email, the "Send me a test email" button and the public unsubscribe page, on the
// production build, as a user sees them. The shared server runs without SMTP_URL (production then
// sends nothing), so the test email and the unsubscribe link use a second server of this file whose
// SMTP_URL points at a real SMTP server (tests/setup/smtp.ts).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ParsedMail } from 'mailparser'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startTestSmtp, type TestSmtp } from '../setup/smtp'
import { startAppServer, type AppServer } from './appServer'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

/** Today's date in UTC (a new user's zone until they pick one), as the task form sends it. */
const todayUtc = () => new Date().toISOString().slice(0, 10)

/** Resolves with the answer to the next call of `path` the page makes (the settings save on change). */
const saved = (page: Page, path: string) =>
  page.waitForResponse(res => res.url().includes('/api/trpc/') && res.url().includes(path) && res.request().method() === 'POST')

/** The visible label of a select's chosen option ("Friday", "17:00"). */
const chosen = (select: Locator) => select.locator('option:checked').textContent()

/** The texts a field's aria-describedby points at: its error (and hint), as a screen reader reads them. */
async function description(page: Page, field: Locator): Promise<string[]> {
  const ids = (await field.getAttribute('aria-describedby'))?.split(/\s+/).filter(Boolean) ?? []
  const texts: string[] = []
  for (const id of ids) {
    const part = page.locator(`[id="${id}"]`)
    if (await part.count() && await part.isVisible()) texts.push((await part.textContent())!.trim())
  }
  return texts
}

function emailSection(page: Page) {
  const section = page.getByRole('region', { name: 'Email', exact: true })
  return {
    section,
    daily: section.getByRole('checkbox', { name: 'Daily digest' }),
    weekly: section.getByRole('checkbox', { name: 'Weekly digest' }),
    weekday: section.getByRole('combobox', { name: 'Weekly digest on' }),
    hour: section.getByRole('combobox', { name: 'At', exact: true }),
    zone: section.getByRole('combobox', { name: 'Time zone' }),
  }
}

async function openSettings(page: Page) {
  await page.goto('/settings/notifications')
  await hydrated(page)
  await emailSection(page).daily.waitFor()
}

describe.skipIf(!hasChromium)('Settings → Email in the browser', () => {
  let browser: Browser
  let smtp: TestSmtp | undefined
  let mailServer: AppServer | undefined
  /** The SMTP-backed server starts while the first tests run on the shared one. */
  let mailServerReady: Promise<AppServer>
  const dataDir = mkdtempSync(join(tmpdir(), 'ttp-e2e-mail-'))

  beforeAll(async () => {
    mailServerReady = startTestSmtp().then(async (started) => {
      smtp = started
      mailServer = await startAppServer({ PGLITE_DIR: dataDir, SMTP_URL: started.url })
      return mailServer
    })
    mailServerReady.catch(() => {}) // reported by the tests that await it
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await mailServerReady?.catch(() => {})
    await mailServer?.stop()
    await smtp?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('saves daily, weekly, weekday, hour and time zone (they survive a reload); an unknown zone is an error at the field', async () => {
    const context = await browser.newContext({ baseURL: inject('baseUrl') })
    await register(context, 'Dora')
    const page = await context.newPage()
    await openSettings(page)
    const { section, daily, weekly, weekday, hour, zone } = emailSection(page)

    // The defaults, and what production without SMTP_URL tells the user.
    expect(await daily.isChecked()).toBe(true)
    expect(await weekly.isChecked()).toBe(false)
    expect(await weekday.isDisabled()).toBe(true)
    await section.getByRole('status').filter({ hasText: 'no email is sent until an administrator sets SMTP_URL' }).waitFor()

    await Promise.all([saved(page, 'notification.digest.update'), daily.uncheck()])
    await Promise.all([saved(page, 'notification.digest.update'), weekly.check()])
    expect(await weekday.isEnabled()).toBe(true)
    await Promise.all([saved(page, 'notification.digest.update'), weekday.selectOption({ label: 'Friday' })])
    await Promise.all([saved(page, 'notification.digest.update'), hour.selectOption({ label: '17:00' })])
    await Promise.all([saved(page, 'notification.digest.update'), zone.selectOption('Asia/Tokyo')])
    await page.getByRole('region', { name: 'Notifications' }).getByText('Email settings saved').first().waitFor()

    await page.reload()
    await hydrated(page)
    expect(await daily.isChecked()).toBe(false)
    expect(await weekly.isChecked()).toBe(true)
    expect(await chosen(weekday)).toBe('Friday')
    expect(await chosen(hour)).toBe('17:00')
    expect(await zone.inputValue()).toBe('Asia/Tokyo')
    // What the server renders, before the app starts (a slow connection), already shows the choices.
    const noScript = await browser.newContext({ baseURL: inject('baseUrl'), storageState: await context.storageState(), javaScriptEnabled: false })
    const ssr = emailSection(await noScript.newPage())
    await ssr.section.page().goto('/settings/notifications')
    expect([await ssr.daily.isChecked(), await ssr.weekly.isChecked()]).toEqual([false, true])
    expect([await chosen(ssr.weekday), await chosen(ssr.hour), await chosen(ssr.zone)]).toEqual(['Friday', '17:00', 'Asia/Tokyo'])
    await noScript.close()

    // Daily back on.
    await Promise.all([saved(page, 'notification.digest.update'), daily.check()])
    await page.reload()
    await hydrated(page)
    expect(await daily.isChecked()).toBe(true)
    expect(await weekly.isChecked()).toBe(true)

    // A zone this browser offers but the server does not know (their time zone data differ).
    expect(await zone.getAttribute('aria-invalid')).not.toBe('true')
    await zone.evaluate((select: HTMLSelectElement) => select.add(new Option('Mars/Olympus_Mons', 'Mars/Olympus_Mons')))
    const [rejected] = await Promise.all([saved(page, 'notification.digest.update'), zone.selectOption('Mars/Olympus_Mons')])
    expect(rejected.status()).toBe(400)
    // The message is at the field, tied to it for assistive technology, not only in a toast.
    await expect.poll(() => zone.getAttribute('aria-invalid')).toBe('true')
    expect(await description(page, zone)).toEqual([expect.stringMatching(/^Unknown time zone/)])
    await section.getByText(/^Unknown time zone: use an IANA name/).waitFor()
    // Not saved.
    await page.reload()
    await hydrated(page)
    expect(await zone.inputValue()).toBe('Asia/Tokyo')
    expect(await zone.getAttribute('aria-invalid')).not.toBe('true')

    // "Send me a test email" on a production server without SMTP says that nothing went out.
    await section.getByRole('button', { name: 'Send me a test email' }).click()
    await page.getByRole('region', { name: 'Notifications' }).getByText(/^No test email was sent/).waitFor()
    await context.close()
  })

  it('the preview shows the digest in the page: nothing to report, then the task due today', async () => {
    const context = await browser.newContext({ baseURL: inject('baseUrl') })
    const user = await register(context, 'Pablo')
    const page = await context.newPage()
    await openSettings(page)
    const { section } = emailSection(page)
    const previewButton = section.getByRole('button', { name: 'Preview my digest' })

    await previewButton.click()
    await section.getByRole('status').filter({ hasText: 'Nothing to report right now' }).waitFor()

    const project = await call<{ id: string }>(context, 'project.create', { name: 'Garden' })
    const task = await call<{ id: string }>(context, 'task.create', { projectId: project.id, title: 'Water the tomatoes', assigneeId: user.id, dueDate: todayUtc() })
    await previewButton.click()
    const frame = section.getByTitle('Preview: Your daily digest: 1 due today')
    await frame.waitFor()
    const digest = frame.contentFrame()
    await digest.getByText('Due today (1)').waitFor()
    // The task's row under "Due today" (title, and the project it is in), linking to the task.
    const row = digest.getByRole('row', { name: 'GARD-1 Water the tomatoes Garden' })
    await row.waitFor()
    expect(await row.getByRole('link').getAttribute('href')).toMatch(new RegExp(`/projects/${project.id}\\?task=${task.id}$`))
    expect(await section.getByText('Nothing to report right now').count()).toBe(0)
    await context.close()
  })

  let testEmail: ParsedMail | undefined
  let mailUser: { email: string } | undefined

  it('"Send me a test email" delivers a message through SMTP', async () => {
    await mailServerReady
    const context = await browser.newContext({ baseURL: mailServer!.baseUrl })
    mailUser = await register(context, 'Sam', mailServer!.baseUrl)
    const page = await context.newPage()
    await openSettings(page)
    const { section } = emailSection(page)
    // This server has SMTP: no warning.
    expect(await section.getByText('no SMTP server configured').count()).toBe(0)

    const arrived = smtp!.next(30_000)
    await section.getByRole('button', { name: 'Send me a test email' }).click()
    await page.getByRole('region', { name: 'Notifications' }).getByText(`Test email sent to ${mailUser.email}`).waitFor()
    testEmail = await arrived
    expect(testEmail.subject).toBe('Test email from TaskTracker Pro')
    expect(testEmail.to && !Array.isArray(testEmail.to) ? testEmail.to.text : '').toBe(mailUser.email)
    expect(testEmail.text).toContain(`${mailServer!.baseUrl}/settings/notifications#email`)
    await context.close()
  })

  it('the unsubscribe link of that email, opened without signing in, turns every email off, and "Turn it back on" restores it', async () => {
    if (!testEmail || !mailUser) throw new Error('needs the test email of the previous test')
    const line = testEmail.headerLines.find(h => h.key === 'list-unsubscribe')?.line ?? ''
    const link = line.match(/<([^>]+)>/)?.[1]
    expect(link).toMatch(new RegExp(`^${mailServer!.baseUrl}/api/email/unsubscribe\\?token=`))

    const anonymous = await browser.newContext({ baseURL: mailServer!.baseUrl })
    const page = await anonymous.newPage()
    await page.goto(link!)
    expect(new URL(page.url()).pathname).toBe('/email/unsubscribe')
    await page.getByRole('status').filter({ hasText: 'Done: you no longer get every email from TaskTracker Pro.' }).waitFor()

    // The owner, signed in elsewhere, sees it off.
    const owner = await browser.newContext({ baseURL: mailServer!.baseUrl })
    await call(owner, 'auth.login', { login: mailUser.email, password: 'correct horse battery' }, mailServer!.baseUrl)
    expect(await query(owner, 'notification.digest.get', undefined, mailServer!.baseUrl)).toMatchObject({ daily: false, weekly: false })
    const settings = await owner.newPage()
    await openSettings(settings)
    const assignedByEmail = settings.getByRole('checkbox', { name: 'Assigned to you: Email' })
    const mentionsByEmail = settings.getByRole('checkbox', { name: 'Mentions of you: Email' })
    expect(await emailSection(settings).daily.isChecked()).toBe(false)
    expect(await assignedByEmail.isChecked()).toBe(false)
    expect(await mentionsByEmail.isChecked()).toBe(false)

    await page.getByRole('button', { name: 'Turn it back on' }).click()
    await page.getByRole('status').filter({ hasText: 'You get every email from TaskTracker Pro again.' }).waitFor()
    expect(await page.getByRole('button', { name: 'Turn it back on' }).count()).toBe(0)

    await settings.reload()
    await hydrated(settings)
    // Back to the defaults: the daily digest, and email for what is addressed to you.
    expect(await emailSection(settings).daily.isChecked()).toBe(true)
    expect(await assignedByEmail.isChecked()).toBe(true)
    expect(await mentionsByEmail.isChecked()).toBe(true)
    await anonymous.close()
    await owner.close()
  })
})
