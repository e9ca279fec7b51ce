import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { call, hasChromium, hydrated, launchChromium, register } from './helpers'

describe.skipIf(!hasChromium)('a tab whose sign-in ends elsewhere', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('goes to the sign-in page when the password is changed on another device (4401), without reconnecting', async () => {
    const baseURL = inject('baseUrl')
    const laptop = await browser.newContext({ baseURL })
    const phone = await browser.newContext({ baseURL })
    const { username } = await register(laptop, 'Nora')
    const project = await call<{ id: string }>(laptop, 'project.create', { name: 'Revocation plan' })

    const page = await laptop.newPage()
    const sockets: string[] = []
    const closes: number[] = []
    page.on('websocket', (ws) => {
      sockets.push(ws.url())
      ws.on('close', () => closes.push(Date.now()))
    })
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    expect(sockets).toHaveLength(1)

    // Another device signs in and changes the password: every other session ends.
    await call(phone, 'auth.login', { login: username, password: 'correct horse battery' })
    await call(phone, 'auth.changePassword', { currentPassword: 'correct horse battery', newPassword: 'a new horse battery' })

    await page.waitForURL(url => url.pathname === '/login' && url.searchParams.get('redirect') === `/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('heading', { level: 1 }).waitFor()
    // The tab did not try again with its ended session: still the one socket, now closed.
    expect(sockets).toHaveLength(1)
    expect(closes).toHaveLength(1)
    await laptop.close()
    await phone.close()
  })
})
