import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, register } from './helpers'

/** A phone: iPhone 14 size, touch, mobile viewport rules. */
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }

/** Waits until a service worker controls the page (the first one claims the tab it was installed from). */
async function controlled(page: Page) {
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 30_000 })
}

/** Widths the page is wider than its viewport by (0 = no sideways scroll). */
function overflow(page: Page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
}

async function projectWithTasks(context: BrowserContext, name: string, titles: string[]) {
  const project = await call<{ id: string, key: string }>(context, 'project.create', { name })
  const tasks = []
  for (const title of titles) tasks.push(await call<{ id: string, number: number }>(context, 'task.create', { projectId: project.id, title }))
  return { project, tasks }
}

describe.skipIf(!hasChromium)('the PWA on a phone', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('is installable: manifest linked, no installability errors, the service worker active', async () => {
    const context = await browser.newContext({ baseURL: inject('baseUrl'), ...PHONE })
    await register(context, 'Ivy Install')
    const page = await context.newPage()
    await page.goto('/')
    await hydrated(page)
    expect(await page.locator('link[rel="manifest"]').getAttribute('href')).toBe('/manifest.webmanifest')
    expect(await page.locator('meta[name="theme-color"]').count()).toBe(2)

    const manifest = await (await context.request.get('/manifest.webmanifest')).json() as Record<string, unknown>
    expect(manifest).toMatchObject({ name: 'TaskTracker Pro', display: 'standalone', start_url: '/', scope: '/' })
    const icons = manifest.icons as { sizes: string, purpose?: string }[]
    expect(icons.map(i => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']))
    expect(icons.some(i => i.purpose === 'maskable')).toBe(true)

    await controlled(page)
    expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state)).toBe('activated')

    const cdp = await context.newCDPSession(page)
    await expect.poll(async () => (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, { timeout: 15_000 }).toEqual([])
    await context.close()
  })

  it('reopens a board visited once while offline, with its cards and when it last synced', async () => {
    const context = await browser.newContext({ baseURL: inject('baseUrl'), ...PHONE })
    await register(context, 'Olga Offline')
    const { project } = await projectWithTasks(context, 'Field trip', ['Pack the tent', 'Buy the tickets'])
    const page = await context.newPage()
    await page.goto('/')
    await controlled(page)

    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    await page.getByRole('listitem', { name: /Pack the tent/ }).waitFor()

    await context.setOffline(true)
    await page.reload()
    await hydrated(page)
    const todo = page.getByRole('list', { name: 'To do' })
    await todo.getByRole('listitem', { name: /Pack the tent/ }).waitFor()
    await todo.getByRole('listitem', { name: /Buy the tickets/ }).waitFor()
    await page.getByRole('status').filter({ hasText: /^Offline · last synced \d\d:\d\d/ }).waitFor()

    // Back online the board goes live again from the page it has.
    await context.setOffline(false)
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    await context.close()
  })

  it('forgets the offline copies on sign-out: the next user of the browser gets none of them', async () => {
    const context = await browser.newContext({ baseURL: inject('baseUrl'), ...PHONE })
    await register(context, 'Sam Signout')
    const { project } = await projectWithTasks(context, 'Secret plans', ['Do not show this'])
    const page = await context.newPage()
    await page.goto('/')
    await controlled(page)
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('listitem', { name: /Do not show this/ }).waitFor()
    const cachedPages = () => page.evaluate(async () => {
      const names = await caches.keys()
      const urls: string[] = []
      for (const name of names.filter(n => n.startsWith('tt-runtime-'))) {
        for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname)
      }
      return urls
    })
    await expect.poll(cachedPages).toContain(`/projects/${project.id}`)

    // On a phone the account menu sits in the navigation drawer, one tap behind "Menu".
    await page.getByRole('button', { name: 'Menu' }).click()
    await page.getByRole('button', { name: /^Account menu for Sam Signout/ }).click()
    await page.getByRole('menuitem', { name: 'Sign out' }).click()
    await page.waitForURL(url => url.pathname === '/login')
    expect(await cachedPages()).toEqual([])
    await context.close()
  })

  it('scrolls no page sideways on a phone or a tablet', async () => {
    const context = await browser.newContext({ baseURL: inject('baseUrl'), ...PHONE })
    await register(context, 'Wendy Width')
    const { project, tasks } = await projectWithTasks(context, 'A rather long project name that might not fit on a phone', ['A task with a long title that has to wrap somewhere on a narrow screen'])
    const page = await context.newPage()
    const paths = ['/', `/projects/${project.id}`, `/projects/${project.id}?task=${tasks[0]!.id}`, `/projects/${project.id}/list`, `/projects/${project.id}/activity`, `/projects/${project.id}/team`, `/projects/${project.id}/settings`, '/settings/notifications', '/settings/password', '/settings/tokens']
    for (const width of [390, 768]) {
      await page.setViewportSize({ width, height: 844 })
      for (const path of paths) {
        await page.goto(path)
        await hydrated(page)
        expect({ path, width, overflow: await overflow(page) }).toEqual({ path, width, overflow: 0 })
      }
    }
    const anonymous = await browser.newContext({ baseURL: inject('baseUrl'), ...PHONE })
    const signedOut = await anonymous.newPage()
    for (const path of ['/login', '/register']) {
      await signedOut.goto(path)
      await hydrated(signedOut)
      expect({ path, overflow: await overflow(signedOut) }).toEqual({ path, overflow: 0 })
    }
    await anonymous.close()
    await context.close()
  })
})
