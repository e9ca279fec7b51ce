// Web Push on the production build: a server whose PUSH_ENDPOINT_ALLOWLIST names a local push
// service (tests/factories/pushService.ts, which decrypts and checks VAPID itself), Ben's
// subscription registered as his browser would, Ana mentions him and the push arrives; then his
// Settings → Devices page lists the device and removes it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestPushService } from '../factories/pushService'
import { startAppServer, type AppServer } from './appServer'
import { call, hasChromium, hydrated, launchChromium, query, register } from './helpers'

describe.skipIf(!hasChromium)('Web Push on the production build', () => {
  let browser: Browser
  let server: AppServer
  let service: TestPushService
  const dataDir = mkdtempSync(join(tmpdir(), 'ttp-e2e-push-'))

  beforeAll(async () => {
    service = await new TestPushService().start()
    server = await startAppServer({ PGLITE_DIR: dataDir, PUSH_ENDPOINT_ALLOWLIST: service.origin })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await service?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('pushes Ana\'s mention to Ben\'s device, which he then sees and removes in Settings → Devices', async () => {
    const base = server.baseUrl
    const anaContext = await browser.newContext({ baseURL: base })
    const benContext = await browser.newContext({ baseURL: base })
    await register(anaContext, 'Ana Lima', base)
    const ben = await register(benContext, 'Ben Ode', base)
    const project = await call<{ id: string, key: string }>(anaContext, 'project.create', { name: 'Push e2e' }, base)
    await call(anaContext, 'member.add', { projectId: project.id, username: ben.username, role: 'MEMBER' }, base)
    const task = await call<{ id: string, number: number }>(anaContext, 'task.create', { projectId: project.id, title: 'Fix login' }, base)

    // What Ben's browser would send after pushManager.subscribe (the push service is the test's).
    const sub = service.subscription()
    const ua = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'
    await call(benContext, 'push.subscribe', { endpoint: sub.endpoint, keys: sub.keys, userAgent: ua }, base)
    const refused = await benContext.request.post(`${base}/api/trpc/push.subscribe`, { data: { json: { endpoint: 'https://attacker.example/collect', keys: sub.keys } }, headers: { origin: base } })
    expect(refused.status()).toBe(400)

    await call(anaContext, 'comment.create', { taskId: task.id, body: `@${ben.username} please check` }, base)
    await expect.poll(() => service.received(sub.name).length, { timeout: 20_000 }).toBe(1)
    const { publicKey } = await query<{ publicKey: string }>(benContext, 'push.publicKey', undefined, base)
    const [arrival] = service.received(sub.name)
    expect(arrival!.vapid.key).toBe(publicKey)
    expect(arrival!.payload).toMatchObject({ body: 'Ana Lima mentioned you in a comment on \'Fix login\'', tag: `task-${task.id}`, url: `/projects/${project.id}?task=${task.id}` })
    expect(service.errors).toEqual([])

    // The account menu leads to Settings → Devices.
    const page = await benContext.newPage()
    await page.goto('/')
    await hydrated(page)
    const accountMenu = page.getByRole('button', { name: /^Account menu for Ben Ode/ })
    await accountMenu.click()
    await page.getByRole('menuitem', { name: 'Devices' }).click()
    await page.waitForURL('**/settings/devices')
    const devices = page.getByRole('region', { name: 'Your devices' })
    await devices.getByText('Chrome on Android').waitFor()
    await devices.getByText(/last push/).waitFor()
    // Nothing scrolls sideways on a phone.
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true)
    page.once('dialog', dialog => void dialog.accept())
    await devices.getByRole('button', { name: 'Remove Chrome on Android' }).click()
    await devices.getByText('No devices').waitFor()
    expect(await query(benContext, 'push.list', {}, base)).toEqual([])

    // Signing out (which first drops this browser's push subscription, none here) still ends at the sign-in page.
    await page.setViewportSize({ width: 1280, height: 800 })
    await accountMenu.click()
    await page.getByRole('menuitem', { name: 'Sign out' }).click()
    await page.waitForURL(/\/login(\?|$)/)
    await anaContext.close()
    await benContext.close()
  })
})
