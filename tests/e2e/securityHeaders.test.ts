import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startAppServer } from './appServer'
import { call, hasChromium, hydrated, launchChromium, register } from './helpers'

/** `a b; c d e` → { a: ['b'], c: ['d', 'e'] } */
function parseCsp(header: string | null | undefined): Record<string, string[]> {
  expect(header, 'Content-Security-Policy header').toBeTruthy()
  return Object.fromEntries(header!.split(';').map(d => d.trim()).filter(Boolean).map((d) => {
    const [name, ...sources] = d.split(/\s+/)
    return [name!, sources]
  }))
}

const NONCE = /^'nonce-([A-Za-z0-9+/=_-]{16,})'$/

/** Records CSP violations in the page (the event fires for every blocked load, eval or inline script). */
async function watchCsp(page: Page) {
  const fromConsole: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) fromConsole.push(msg.text())
  })
  await page.addInitScript(() => {
    const seen: string[] = []
    Object.defineProperty(window, '__cspViolations', { value: seen })
    document.addEventListener('securitypolicyviolation', e => seen.push(`${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`))
  })
  return async () => ({
    events: await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations),
    console: fromConsole,
  })
}

describe('security headers of the production build', () => {
  it('HTML pages: a strict CSP with a fresh nonce per response, no eval, and no X-Powered-By', async () => {
    const baseUrl = inject('baseUrl')
    const [first, second] = await Promise.all([fetch(`${baseUrl}/login`), fetch(`${baseUrl}/login`)])
    expect(first.headers.get('content-type')).toMatch(/text\/html/)
    const csp = parseCsp(first.headers.get('content-security-policy'))

    const scriptSrc = csp['script-src']!
    const nonce = scriptSrc.map(s => NONCE.exec(s)?.[1]).find(Boolean)
    expect(nonce).toBeTruthy()
    expect(scriptSrc).toContain('\'strict-dynamic\'')
    expect(scriptSrc).not.toContain('\'unsafe-eval\'')
    expect(scriptSrc).not.toContain('\'unsafe-inline\'')
    expect(csp['script-src-attr']).toEqual(['\'none\''])
    expect(csp['object-src']).toEqual(['\'none\''])
    expect(csp['base-uri']).toEqual(['\'none\''])
    expect(csp['frame-ancestors']).toEqual(['\'none\''])
    expect(csp['img-src']).toEqual(['\'self\'', 'data:', 'blob:'])
    expect(csp['connect-src']).toEqual(['\'self\'', baseUrl.replace(/^http/, 'ws')])
    // Served over http: nothing to upgrade, and no HSTS.
    expect(csp).not.toHaveProperty('upgrade-insecure-requests')
    expect(first.headers.get('strict-transport-security')).toBeNull()

    // Every script of the page carries this response's nonce; the next response has another one.
    const html = await first.text()
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map(m => m[0])
    expect(scripts.length).toBeGreaterThan(0)
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`)
    const otherNonce = parseCsp(second.headers.get('content-security-policy'))['script-src']!.map(s => NONCE.exec(s)?.[1]).find(Boolean)
    expect(otherNonce).toBeTruthy()
    expect(otherNonce).not.toBe(nonce)

    expect(first.headers.get('x-powered-by')).toBeNull()
    expect(first.headers.get('x-frame-options')).toBe('DENY')
    expect(first.headers.get('x-content-type-options')).toBe('nosniff')
    expect(first.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
  })

  it('the API: no X-Powered-By, and still no CORS headers (same-origin only, as before)', async () => {
    const baseUrl = inject('baseUrl')
    const res = await fetch(`${baseUrl}/api/trpc/auth.me`, { headers: { origin: 'https://elsewhere.example' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-powered-by')).toBeNull()
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const preflight = await fetch(`${baseUrl}/api/trpc/task.create`, { method: 'OPTIONS', headers: { 'origin': 'https://elsewhere.example', 'access-control-request-method': 'POST' } })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    // Cross-site writes are still refused by the app's Origin check.
    const write = await fetch(`${baseUrl}/api/trpc/auth.login`, { method: 'POST', headers: { 'origin': 'https://elsewhere.example', 'content-type': 'application/json' }, body: '{"json":{"login":"a","password":"b"}}' })
    expect(write.status).toBe(403)
  })

  it('HSTS, upgrade-insecure-requests and wss: only when PUBLIC_ORIGIN is https (decided at start, same build)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ttp-e2e-https-'))
    const server = await startAppServer({ PGLITE_DIR: dataDir, PUBLIC_ORIGIN: 'https://tasks.example.test' })
    try {
      for (const path of ['/login', '/api/trpc/auth.me']) {
        const res = await fetch(`${server.baseUrl}${path}`)
        expect(res.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains')
        expect(res.headers.get('x-powered-by'), path).toBeNull()
      }
      const csp = parseCsp((await fetch(`${server.baseUrl}/login`)).headers.get('content-security-policy'))
      expect(csp['upgrade-insecure-requests']).toEqual([])
      expect(csp['connect-src']).toEqual(['\'self\'', 'wss://tasks.example.test'])
    }
    finally {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe.skipIf(!hasChromium)('the app under its CSP', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('signs in, opens a board and receives live updates without a single CSP violation', async () => {
    const baseURL = inject('baseUrl')
    const setup = await browser.newContext({ baseURL })
    const { username } = await register(setup, 'Cleo')
    const project = await call<{ id: string }>(setup, 'project.create', { name: 'CSP check' })
    const task = await call<{ id: string }>(setup, 'task.create', { projectId: project.id, title: 'Already there' })
    await call(setup, 'comment.create', { taskId: task.id, body: 'See ![chart](https://tracker.example.net/p.gif) and ![dot](data:image/gif;base64,R0lGODlhAQABAAAAACw=)' })

    const context = await browser.newContext({ baseURL })
    const page = await context.newPage()
    const violations = await watchCsp(page)
    const external: string[] = []
    page.on('request', (req) => {
      if (!req.url().startsWith(baseURL) && !req.url().startsWith(baseURL.replace(/^http/, 'ws')) && !req.url().startsWith('data:')) external.push(req.url())
    })

    const loginPage = await page.goto('/login')
    expect(loginPage!.headers()['content-security-policy']).toMatch(/'nonce-/)
    await hydrated(page)
    await page.getByLabel('Email or username').fill(username)
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(url => url.pathname === '/')

    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    // The socket connected under connect-src.
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    await page.getByRole('listitem', { name: /Already there/ }).waitFor()

    // A change made elsewhere arrives over the socket.
    await call(setup, 'task.create', { projectId: project.id, title: 'Arrived live' })
    await page.getByRole('list', { name: 'To do' }).getByRole('listitem', { name: /Arrived live/ }).waitFor()

    // The task panel shows the comment's remote image as a link (nothing fetched from elsewhere), its data: image inline.
    await page.goto(`/projects/${project.id}?task=${task.id}`)
    await hydrated(page)
    await page.getByRole('link', { name: 'chart' }).waitFor()
    expect(await page.getByRole('img', { name: 'dot' }).count()).toBe(1)
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()

    expect(await violations()).toEqual({ events: [], console: [] })
    expect(external).toEqual([])
  })
})
