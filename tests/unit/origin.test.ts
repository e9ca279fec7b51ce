import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, eventHandler, toNodeListener } from 'h3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAllowedUpgradeOrigin, isForeignOrigin } from '../../server/utils/origin'

// A real h3 server, so the guard sees the headers exactly as Nitro hands them over.
describe('isForeignOrigin', () => {
  let server: Server
  let base: string
  beforeAll(async () => {
    const app = createApp()
    app.use(eventHandler(event => ({ foreign: isForeignOrigin(event, ['https://app.example.com']) })))
    server = createServer(toNodeListener(app))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise(resolve => server.close(resolve)))

  const check = async (method: string, origin?: string) => {
    const res = await fetch(`${base}/api/trpc/x`, { method, headers: origin ? { origin } : {} })
    return ((await res.json()) as { foreign: boolean }).foreign
  }

  it('refuses a POST from another site', async () => {
    expect(await check('POST', 'https://evil.example')).toBe(true)
    expect(await check('POST', 'not a url')).toBe(true)
  })

  it('accepts same-host, allowed-origin and origin-less requests', async () => {
    expect(await check('POST', base)).toBe(false)
    expect(await check('POST', 'https://app.example.com')).toBe(false)
    expect(await check('POST')).toBe(false)
    expect(await check('GET', 'https://evil.example')).toBe(false)
  })
})

describe('isAllowedUpgradeOrigin (WebSocket upgrade)', () => {
  const allowed = ['https://app.example.com']
  const upgrade = (headers: Record<string, string>) => isAllowedUpgradeOrigin(new Headers({ host: 'tasks.internal:3000', ...headers }), allowed)

  it('refuses another site, and an Origin that is not a URL', () => {
    expect(upgrade({ origin: 'https://evil.example' })).toBe(false)
    expect(upgrade({ origin: 'https://app.example.com.evil.example' })).toBe(false)
    expect(upgrade({ origin: 'null' })).toBe(false)
  })

  it('accepts an allowed origin, the same host, and clients that send no Origin', () => {
    expect(upgrade({ origin: 'https://app.example.com' })).toBe(true)
    expect(upgrade({ origin: 'http://tasks.internal:3000' })).toBe(true)
    expect(upgrade({})).toBe(true)
  })
})
