import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, eventHandler, toNodeListener } from 'h3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAllowedUpgradeOrigin, isForeignOrigin, normalizeOrigin } from '../../server/utils/origin'

// A real h3 server, so the guard sees the headers exactly as Nitro hands them over.
describe('isForeignOrigin', () => {
  let server: Server
  let base: string
  let port: number
  beforeAll(async () => {
    const app = createApp()
    app.use(eventHandler(event => ({ foreign: isForeignOrigin(event, [base, 'https://app.example.com']) })))
    server = createServer(toNodeListener(app))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
    base = `http://127.0.0.1:${port}`
  })
  afterAll(() => new Promise(resolve => server.close(resolve)))

  /** node:http rather than fetch: fetch does not let a caller choose the Host header. */
  const check = (method: string, headers: Record<string, string> = {}) => new Promise<boolean>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/api/trpc/x', headers }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve((JSON.parse(text) as { foreign: boolean }).foreign))
    })
    req.on('error', reject).end()
  })

  it('refuses a POST from another site', async () => {
    expect(await check('POST', { origin: 'https://evil.example' })).toBe(true)
    expect(await check('POST', { origin: 'not a url' })).toBe(true)
    expect(await check('POST', { origin: 'null' })).toBe(true)
  })

  it('refuses a forged Host header that matches the Origin', async () => {
    // The old guard compared Origin with Host: an attacker's page plus a Host header it controls
    // (a DNS-rebinding page, a proxy passing Host through) looked same-site.
    expect(await check('POST', { origin: 'https://evil.example', host: 'evil.example' })).toBe(true)
    expect(await check('POST', { origin: 'http://tasks.internal:8080', host: 'tasks.internal:8080' })).toBe(true)
  })

  it('refuses the same host over another scheme or port', async () => {
    expect(await check('POST', { origin: `https://127.0.0.1:${port}` })).toBe(true)
    expect(await check('POST', { origin: `http://127.0.0.1:${port + 1}` })).toBe(true)
    expect(await check('POST', { origin: 'http://app.example.com' })).toBe(true)
    expect(await check('POST', { origin: 'https://app.example.com:8443' })).toBe(true)
  })

  it('accepts an allowed origin, whatever the Host header says, and origin-less or non-POST requests', async () => {
    expect(await check('POST', { origin: base })).toBe(false)
    expect(await check('POST', { origin: 'https://app.example.com', host: 'internal-lb:8080' })).toBe(false)
    // Browsers may spell it with a default port or in capitals; it is the same origin.
    expect(await check('POST', { origin: 'https://APP.example.com:443' })).toBe(false)
    expect(await check('POST')).toBe(false)
    expect(await check('GET', { origin: 'https://evil.example' })).toBe(false)
  })
})

describe('isAllowedUpgradeOrigin (WebSocket upgrade)', () => {
  const allowed = ['https://app.example.com', 'http://localhost:3000']
  const upgrade = (headers: Record<string, string>) => isAllowedUpgradeOrigin(new Headers({ host: 'tasks.internal:3000', ...headers }).get('origin'), allowed)

  it('refuses another site, and an Origin that is not a URL', () => {
    expect(upgrade({ origin: 'https://evil.example' })).toBe(false)
    expect(upgrade({ origin: 'https://app.example.com.evil.example' })).toBe(false)
    expect(upgrade({ origin: 'null' })).toBe(false)
  })

  it('refuses an Origin that only matches the (forgeable) Host header', () => {
    expect(upgrade({ origin: 'http://tasks.internal:3000' })).toBe(false)
    expect(upgrade({ origin: 'https://evil.example', host: 'evil.example' })).toBe(false)
  })

  it('refuses an allowed host on another scheme or port', () => {
    expect(upgrade({ origin: 'http://app.example.com' })).toBe(false)
    expect(upgrade({ origin: 'https://localhost:3000' })).toBe(false)
    expect(upgrade({ origin: 'http://localhost:3001' })).toBe(false)
  })

  it('accepts an allowed origin and clients that send no Origin', () => {
    expect(upgrade({ origin: 'https://app.example.com' })).toBe(true)
    expect(upgrade({ origin: 'https://app.example.com/' })).toBe(true)
    expect(upgrade({ origin: 'http://localhost:3000' })).toBe(true)
    expect(upgrade({})).toBe(true)
  })
})

describe('normalizeOrigin', () => {
  it('keeps scheme, host and port only, drops default ports, refuses non-http origins', () => {
    expect(normalizeOrigin('HTTPS://Tasks.Example.com:443/')).toBe('https://tasks.example.com')
    expect(normalizeOrigin('http://localhost:3000')).toBe('http://localhost:3000')
    expect(normalizeOrigin('http://localhost:80')).toBe('http://localhost')
    expect(normalizeOrigin('file:///etc/passwd')).toBeNull()
    expect(normalizeOrigin('null')).toBeNull()
  })
})
