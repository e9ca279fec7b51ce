import { gunzipSync, brotliDecompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { compress, pickEncoding } from '../../server/utils/compression'
import { isOfflinePage, isOfflineRead, parsePushPayload, pushTarget } from '../../shared/pwa'

const url = (path: string) => new URL(path, 'https://tasks.example.com')

describe('what the service worker keeps for offline use', () => {
  it('caches the board reads, also batched, but nothing else and no writes', () => {
    expect(isOfflineRead(url('/api/trpc/project.byId,task.list?batch=1&input=%7B%7D'), 'GET')).toBe(true)
    expect(isOfflineRead(url('/api/trpc/task.list?input=%7B%7D'), 'GET')).toBe(true)
    // One procedure outside the list spoils the batch: it is not kept.
    expect(isOfflineRead(url('/api/trpc/task.list,apiToken.list?batch=1'), 'GET')).toBe(false)
    expect(isOfflineRead(url('/api/trpc/apiToken.list'), 'GET')).toBe(false)
    expect(isOfflineRead(url('/api/trpc/task.move'), 'POST')).toBe(false)
    expect(isOfflineRead(url('/api/health'), 'GET')).toBe(false)
  })

  it('keeps app pages but not the API, sign-in forms or one-off links', () => {
    expect(isOfflinePage(url('/projects/abc'))).toBe(true)
    expect(isOfflinePage(url('/'))).toBe(true)
    for (const path of ['/api/trpc/auth.me', '/login', '/register', '/email/unsubscribe', '/dev/mail']) expect(isOfflinePage(url(path))).toBe(false)
  })
})

describe('push messages in the service worker', () => {
  it('reads { title, body, tag, url } and ignores what is not one', () => {
    expect(parsePushPayload(JSON.stringify({ title: 'Ben mentioned you', body: 'in TT-4', tag: 'task:1', url: '/projects/p?task=1' })))
      .toEqual({ title: 'Ben mentioned you', body: 'in TT-4', tag: 'task:1', url: '/projects/p?task=1' })
    expect(parsePushPayload(JSON.stringify({ title: 'Only a title', body: 5 }))).toEqual({ title: 'Only a title', body: undefined, tag: undefined, url: undefined })
    expect(parsePushPayload('not json')).toBeNull()
    expect(parsePushPayload(JSON.stringify({ body: 'no title' }))).toBeNull()
    expect(parsePushPayload(null)).toBeNull()
  })

  it('opens only pages of this origin on a click', () => {
    const origin = 'https://tasks.example.com'
    expect(pushTarget('/projects/p?task=1', origin)).toBe(`${origin}/projects/p?task=1`)
    expect(pushTarget(`${origin}/projects/p`, origin)).toBe(`${origin}/projects/p`)
    expect(pushTarget('https://evil.example/phish', origin)).toBe(`${origin}/`)
    expect(pushTarget('//evil.example/x', origin)).toBe(`${origin}/`)
    expect(pushTarget(undefined, origin)).toBe(`${origin}/`)
  })
})

describe('compression of rendered pages', () => {
  it('picks br before gzip and honours q=0 and *', () => {
    expect(pickEncoding('gzip, deflate, br, zstd')).toBe('br')
    expect(pickEncoding('gzip')).toBe('gzip')
    expect(pickEncoding('br;q=0, gzip;q=0.8')).toBe('gzip')
    expect(pickEncoding('gzip;q=1, br;q=0.5')).toBe('gzip')
    expect(pickEncoding('*')).toBe('br')
    expect(pickEncoding('*;q=0')).toBeNull()
    expect(pickEncoding('identity')).toBeNull()
    expect(pickEncoding('')).toBeNull()
    expect(pickEncoding(undefined)).toBeNull()
  })

  it('round-trips a page through br and gzip, and makes it smaller', async () => {
    const html = `<!DOCTYPE html><html><body>${'<li class="task-card">A card</li>'.repeat(200)}</body></html>`
    const br = await compress(html, 'br')
    const gz = await compress(html, 'gzip')
    expect(brotliDecompressSync(br).toString()).toBe(html)
    expect(gunzipSync(gz).toString()).toBe(html)
    expect(br.length).toBeLessThan(html.length / 10)
  })
})
