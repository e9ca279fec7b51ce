import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, launchPersistentChromium, register } from './helpers'

/** A phone: iPhone 14 size, touch, mobile viewport rules. */
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }

/** Waits until a service worker controls the page (the first one claims the tab it was installed from). */
async function controlled(page: Page) {
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 30_000 })
}

/**
 * How much wider than the device the page is (0 = no sideways scroll). A mobile browser widens its
 * layout viewport to fit wide content (zooming out), so innerWidth itself is compared to the device.
 */
function overflow(page: Page, deviceWidth: number) {
  return page.evaluate(width => Math.max(document.documentElement.scrollWidth, window.innerWidth) - width, deviceWidth)
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
    const profile = mkdtempSync(join(tmpdir(), 'ttp-pwa-profile-'))
    const context = await launchPersistentChromium(profile, { baseURL: inject('baseUrl'), ...PHONE })
    await register(context, 'Ivy Install')
    const page = context.pages()[0] ?? await context.newPage()
    await page.goto('/')
    await hydrated(page)
    expect(await page.locator('link[rel="manifest"]').getAttribute('href')).toBe('/manifest.webmanifest')
    expect(await page.locator('meta[name="theme-color"]').count()).toBe(2)

    const manifest = await (await context.request.get('/manifest.webmanifest')).json() as Record<string, unknown>
    expect(manifest).toMatchObject({ id: '/', name: 'TaskTracker Pro', display: 'standalone', start_url: '/my', scope: '/' })
    const icons = manifest.icons as { sizes: string, purpose?: string }[]
    expect(icons.map(i => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']))
    expect(icons.some(i => i.purpose === 'maskable')).toBe(true)

    await controlled(page)
    await expect.poll(() => page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state)).toBe('activated')

    const cdp = await context.newCDPSession(page)
    await expect.poll(async () => (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, { timeout: 15_000 }).toEqual([])
    await context.close()
    rmSync(profile, { recursive: true, force: true })
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
    const paths = ['/', '/my', `/projects/${project.id}`, `/projects/${project.id}?task=${tasks[0]!.id}`, `/projects/${project.id}/list`, `/projects/${project.id}/activity`, `/projects/${project.id}/team`, `/projects/${project.id}/settings`, '/settings/notifications', '/settings/password', '/settings/tokens']
    for (const width of [390, 768]) {
      await page.setViewportSize({ width, height: 844 })
      for (const path of paths) {
        await page.goto(path)
        await hydrated(page)
        expect({ path, width, overflow: await overflow(page, width) }).toEqual({ path, width, overflow: 0 })
      }
    }
    // Touch targets: the top bar, the column tabs and a card's "Move" button are at least 44 px.
    await page.setViewportSize(PHONE.viewport)
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    const targets = [
      page.getByRole('button', { name: 'Menu' }),
      page.getByRole('button', { name: /^Notifications/ }).first(),
      page.getByRole('navigation', { name: 'Columns' }).getByRole('button').first(),
      page.getByRole('button', { name: /^Move / }).first(),
    ]
    for (const target of targets) {
      const box = (await target.boundingBox())!
      expect(Math.min(box.width, box.height)).toBeGreaterThanOrEqual(44)
    }

    // The list's filters besides search fold into a sheet on a phone: hidden until "Filters" opens it.
    await page.goto(`/projects/${project.id}/list`)
    await hydrated(page)
    const inProgress = page.getByRole('checkbox', { name: 'In progress' })
    await expect.poll(() => inProgress.isVisible()).toBe(false)
    await page.getByRole('button', { name: 'Filters', exact: true }).tap()
    await inProgress.check()
    await expect.poll(() => page.getByRole('button', { name: 'Filters (1)', exact: true }).isVisible()).toBe(true)
    await page.getByRole('button', { name: 'Done', exact: true }).tap()
    await expect.poll(() => inProgress.isVisible()).toBe(false)
    expect(await overflow(page, PHONE.viewport.width)).toBe(0)

    const anonymous = await browser.newContext({ baseURL: inject('baseUrl'), ...PHONE })
    const signedOut = await anonymous.newPage()
    for (const path of ['/login', '/register']) {
      await signedOut.goto(path)
      await hydrated(signedOut)
      expect({ path, overflow: await overflow(signedOut, PHONE.viewport.width) }).toEqual({ path, overflow: 0 })
    }
    await anonymous.close()
    await context.close()
  })

  it('moves a card by long-press drag on a touch screen, and the other user sees it', async () => {
    const phone = await browser.newContext({ baseURL: inject('baseUrl'), ...PHONE })
    const desk = await browser.newContext({ baseURL: inject('baseUrl') })
    await register(phone, 'Tara Touch')
    const ben = await register(desk, 'Ben Desk')
    const { project } = await projectWithTasks(phone, 'Thumbs', ['First card', 'Drag me'])
    await call(phone, 'member.add', { projectId: project.id, username: ben.username, role: 'MEMBER' })

    const watcher = await desk.newPage()
    await watcher.goto(`/projects/${project.id}`)
    await hydrated(watcher)
    await watcher.getByRole('status').filter({ hasText: 'Live' }).waitFor()

    const page = await phone.newPage()
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    const todo = page.getByRole('list', { name: 'To do' })
    const card = todo.getByRole('listitem', { name: /Drag me/ })
    const first = todo.getByRole('listitem', { name: /First card/ })
    await card.waitFor()

    // Within the column: hold "Drag me", lift it above "First card".
    const cdp = await phone.newCDPSession(page)
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x = 0, y = 0) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y, id: 1 }] })
    // Where a card is once it stands still: after a move the column animates its cards (0.25 s), and a
    // finger put down mid-animation lands on whatever is passing there.
    const centre = async (locator: typeof card) => {
      let box = await locator.boundingBox()
      await expect.poll(async () => {
        const before = box
        box = await locator.boundingBox()
        return !!before && !!box && before.x === box.x && before.y === box.y
      }).toBe(true)
      return { x: box!.x + box!.width / 2, y: box!.y + box!.height / 2, top: box!.y }
    }
    let from = await centre(card)
    const above = await centre(first)
    await touch('touchStart', from.x, from.y)
    // Held still, the card lifts (no fixed wait: the lifted state is what is awaited).
    await expect.poll(() => card.getAttribute('class'), { timeout: 5_000 }).toContain('touch-lifted')
    for (let step = 1; step <= 5; step++) await touch('touchMove', from.x, from.y + (above.top + 4 - from.y) * step / 5)
    await touch('touchEnd')
    await expect.poll(() => todo.getByRole('listitem').allTextContents()).toEqual([expect.stringContaining('Drag me'), expect.stringContaining('First card')])

    // To another column: the tabs bring "In progress" in; the card is dropped there.
    from = await centre(card)
    await touch('touchStart', from.x, from.y)
    await expect.poll(() => card.getAttribute('class'), { timeout: 5_000 }).toContain('touch-lifted')
    // At the right edge the board scrolls to the next column.
    const edge = PHONE.viewport.width - 10
    for (let step = 1; step <= 5; step++) await touch('touchMove', from.x + (edge - from.x) * step / 5, from.y)
    const inProgress = page.getByRole('list', { name: 'In progress' })
    await expect.poll(async () => {
      const box = await inProgress.boundingBox()
      return !!box && box.x < edge - 40 && box.x + box.width > edge - 40
    }).toBe(true)
    await touch('touchMove', edge - 40, from.y)
    await touch('touchEnd')
    await inProgress.getByRole('listitem', { name: /Drag me/ }).waitFor()

    // Saved on the server, so Ben's board shows it moved.
    await watcher.getByRole('list', { name: 'In progress' }).getByRole('listitem', { name: /Drag me/ }).waitFor()
    expect(await watcher.getByRole('list', { name: 'To do' }).getByRole('listitem', { name: /Drag me/ }).count()).toBe(0)
    await phone.close()
    await desk.close()
  })

  it('serves pages and assets compressed per Accept-Encoding, hashed assets for a year, the worker always revalidated', async () => {
    const baseUrl = inject('baseUrl')
    const page = (encoding: string) => fetch(`${baseUrl}/login`, { headers: { 'accept-encoding': encoding } })
    const br = await page('br, gzip')
    expect(br.headers.get('content-encoding')).toBe('br')
    expect(br.headers.get('vary')).toMatch(/Accept-Encoding/i)
    expect(await br.text()).toContain('<html') // fetch decodes it: a real brotli body
    expect((await page('gzip')).headers.get('content-encoding')).toBe('gzip')
    const plain = await page('identity')
    expect(plain.headers.get('content-encoding')).toBeNull()
    const html = await plain.text()

    const script = html.match(/\/_nuxt\/[\w-]+\.js/)![0]
    const asset = await fetch(`${baseUrl}${script}`, { headers: { 'accept-encoding': 'br' } })
    expect(asset.status).toBe(200)
    expect(asset.headers.get('content-encoding')).toBe('br')
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect((await fetch(`${baseUrl}/sw.js`)).headers.get('cache-control')).toBe('no-cache')
  })
})
