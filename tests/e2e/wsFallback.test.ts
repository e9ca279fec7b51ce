// When the WebSocket cannot be used (docs/websocket.md, "Fallback transports"): the production build
// behind a small proxy that refuses upgrades, as some corporate proxies do. The page falls back to
// SSE; when the proxy also refuses event streams, to polling.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAppServer, type AppServer } from './appServer'
import { call, hasChromium, httpClient, hydrated, launchChromium, register } from './helpers'

interface Proxy {
  url: string
  upgradesRefused: number
  streamsRefused: number
  /** refuse `text/event-stream` answers too */
  blockEventStreams: boolean
  close: () => Promise<void>
}

/** Forwards HTTP to `target` without buffering (event streams flow through); answers every upgrade with 403. */
async function startProxy(target: () => string): Promise<Proxy> {
  const proxy: Proxy = { url: '', upgradesRefused: 0, streamsRefused: 0, blockEventStreams: false, close: async () => {} }
  const server: Server = createServer((req, res) => {
    const upstream = new URL(req.url ?? '/', target())
    const forward = request(upstream, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      if (proxy.blockEventStreams && String(answer.headers['content-type']).startsWith('text/event-stream')) {
        proxy.streamsRefused++
        answer.destroy()
        res.writeHead(403, { 'content-type': 'text/plain' }).end('Event streams are not allowed here')
        return
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      res.flushHeaders()
      answer.pipe(res)
    })
    forward.on('error', () => res.destroy())
    res.on('close', () => forward.destroy())
    req.pipe(forward)
  })
  server.on('upgrade', (_req, socket) => {
    proxy.upgradesRefused++
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  proxy.close = async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
  return proxy
}

describe.skipIf(!hasChromium)('when the WebSocket cannot be used', () => {
  let browser: Browser
  let app: AppServer
  let proxy: Proxy
  let dataDir: string

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ttp-fallback-'))
    // The proxy's address is the public one: the app is configured for it, as behind any proxy.
    proxy = await startProxy(() => app.baseUrl)
    app = await startAppServer({ PGLITE_DIR: dataDir, PUBLIC_ORIGIN: proxy.url })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await proxy?.close()
    await app?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  /** Ana (in the browser, through the proxy) and Ben (straight to the app) on one project. */
  async function team() {
    const ana = await browser.newContext({ baseURL: proxy.url })
    await register(ana, 'Ana', proxy.url)
    const ben = httpClient(app.baseUrl)
    const benName = `ben${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
    await ben.client.auth.register.mutate({ email: `${benName}@example.test`, username: benName, name: 'Ben', password: 'correct horse battery' })
    const project = await call<{ id: string }>(ana, 'project.create', { name: 'Behind the proxy' }, proxy.url)
    await call(ana, 'member.add', { projectId: project.id, username: benName, role: 'MEMBER' }, proxy.url)
    const page = await ana.newPage()
    return { ana, page, ben: ben.client, project }
  }

  it('falls back to SSE: the indicator says "Live (fallback)" and Ben\'s change shows within 2 s', async () => {
    proxy.blockEventStreams = false
    const { ana, page, ben, project } = await team()
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('status').filter({ hasText: 'Live (fallback)' }).waitFor({ timeout: 20_000 })
    expect(proxy.upgradesRefused).toBeGreaterThanOrEqual(2)

    await ben.task.create.mutate({ projectId: project.id, title: 'Made by Ben over HTTP' })
    await page.getByRole('listitem', { name: /Made by Ben over HTTP/ }).waitFor({ timeout: 2_000 })
    expect(proxy.streamsRefused).toBe(0)
    await ana.close()
  })

  it('falls back to polling when event streams are refused too: "Refreshing every 5 s", Ben\'s change within about 6 s', async () => {
    proxy.blockEventStreams = true
    const { ana, page, ben, project } = await team()
    await page.goto(`/projects/${project.id}`)
    await hydrated(page)
    await page.getByRole('status').filter({ hasText: 'Refreshing every 5 s' }).waitFor({ timeout: 30_000 })
    expect(proxy.streamsRefused).toBeGreaterThan(0)

    await ben.task.create.mutate({ projectId: project.id, title: 'Polled from Ben' })
    await page.getByRole('listitem', { name: /Polled from Ben/ }).waitFor({ timeout: 6_500 })
    await ana.close()
  })
})
