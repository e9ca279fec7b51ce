// The checks of an upgrade to /api/trpc-ws that the app's own `ws` server makes on Node's headers
// (the production path; the route's hook makes the same ones under `nuxt dev`).
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { pathOf, upgradeRefusal, writeRefusal } from '../../server/realtime/upgradeGate'
import { useEnv } from '../../server/utils/env'
import { setShuttingDown } from '../../server/utils/lifecycle'

describe('pathOf', () => {
  it('is the path of a relative or absolute URL, without its query', () => {
    expect(pathOf('/api/trpc-ws')).toBe('/api/trpc-ws')
    expect(pathOf('/api/trpc-ws?connectionParams=1')).toBe('/api/trpc-ws')
    expect(pathOf('http://127.0.0.1:3000/api/trpc-ws?connectionParams=1')).toBe('/api/trpc-ws')
    expect(pathOf('https://tasks.example.com')).toBe('/')
    expect(pathOf('/api/trpc-ws/more')).toBe('/api/trpc-ws/more')
    expect(pathOf(undefined)).toBe('')
  })
})

describe('upgradeRefusal', () => {
  afterEach(() => setShuttingDown(false))

  it('lets an upgrade without Origin (a service) or from an allowed origin through', () => {
    expect(upgradeRefusal(undefined)).toBeNull()
    expect(upgradeRefusal(useEnv().allowedOrigins[0])).toBeNull()
  })

  it('refuses a cross-site Origin with 403', () => {
    expect(upgradeRefusal('https://evil.example')).toMatchObject({ status: 403, body: 'Cross-site WebSocket refused' })
    expect(upgradeRefusal('null')?.status).toBe(403)
  })

  it('refuses every upgrade with 503 and retry-after once shutting down', () => {
    setShuttingDown()
    expect(upgradeRefusal(undefined)).toMatchObject({ status: 503, headers: { 'retry-after': '1' } })
  })
})

describe('writeRefusal', () => {
  it('answers on the raw socket with the status, headers and body, then ends it', async () => {
    const socket = new PassThrough()
    const chunks: Buffer[] = []
    socket.on('data', chunk => chunks.push(chunk))
    const ended = new Promise(resolve => socket.once('end', resolve))
    writeRefusal(socket, { status: 503, statusText: 'Service Unavailable', body: 'Shutting down', headers: { 'retry-after': '1' } })
    await ended
    const text = Buffer.concat(chunks).toString()
    expect(text.startsWith('HTTP/1.1 503 Service Unavailable\r\n')).toBe(true)
    expect(text).toContain('\r\ncontent-length: 13\r\n')
    expect(text).toContain('\r\nretry-after: 1\r\n')
    expect(text.endsWith('\r\n\r\nShutting down')).toBe(true)
  })
})
