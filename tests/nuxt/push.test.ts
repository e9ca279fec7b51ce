import { registerEndpoint } from '@nuxt/test-utils/runtime'
import { getQuery, readBody } from 'h3'
import superjson, { type SuperJSONResult } from 'superjson'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { base64urlToBytes, createPushClient, forgetPushOnThisDevice, usePush, type PushApi } from '~/composables/usePush'
import type { PushDevice } from '~~/shared/schemas/push'

// The browser's PushManager and Notification are outside the system: faked here. The server is
// played by registered endpoints answering the app's real tRPC client.

const serverKey = Buffer.alloc(65, 4).toString('base64url')

class FakeSubscription {
  unsubscribed = false
  constructor(readonly endpoint: string, readonly options: { applicationServerKey: ArrayBuffer }, private readonly manager: FakePushManager) {}
  getKey(name: 'p256dh' | 'auth'): ArrayBuffer {
    return new Uint8Array(name === 'p256dh' ? 65 : 16).fill(name === 'p256dh' ? 4 : 9).buffer
  }

  async unsubscribe() {
    this.unsubscribed = true
    this.manager.current = null
    return true
  }
}

class FakePushManager {
  current: FakeSubscription | null = null
  subscribeCalls: { userVisibleOnly?: boolean, applicationServerKey: Uint8Array }[] = []
  async getSubscription() {
    return this.current
  }

  async subscribe(options: { userVisibleOnly?: boolean, applicationServerKey: Uint8Array }) {
    this.subscribeCalls.push(options)
    this.current = new FakeSubscription(`https://fcm.googleapis.com/fcm/send/device-${this.subscribeCalls.length}`, { applicationServerKey: options.applicationServerKey.slice().buffer }, this)
    return this.current
  }
}

let devices: PushDevice[] = []
const calls: { path: string, input: unknown }[] = []
const device = (id: string, endpoint: string | null, thisEndpoint?: string | null): PushDevice => ({
  id, label: 'Chrome on Android', userAgent: 'ua', service: 'fcm.googleapis.com', createdAt: new Date('2026-12-01T10:00:00Z'), lastSuccessAt: null, failures: 0, thisDevice: Boolean(endpoint) && endpoint === thisEndpoint,
})
let stored: { id: string, endpoint: string }[] = []
const listed = (thisEndpoint?: string | null) => stored.map(s => device(s.id, s.endpoint, thisEndpoint))

registerEndpoint('/api/trpc/push.publicKey', { method: 'GET', handler: () => [{ result: { data: superjson.serialize({ publicKey: serverKey }) } }] })
registerEndpoint('/api/trpc/push.list', {
  method: 'GET',
  handler: (event) => {
    const input = superjson.deserialize<{ endpoint?: string | null } | undefined>(JSON.parse(String(getQuery(event).input))['0'])
    calls.push({ path: 'list', input })
    devices = listed(input?.endpoint)
    return [{ result: { data: superjson.serialize(devices) } }]
  },
})
for (const path of ['subscribe', 'unsubscribe', 'remove'] as const) {
  registerEndpoint(`/api/trpc/push.${path}`, {
    method: 'POST',
    handler: async (event) => {
      const body = await readBody<Record<string, SuperJSONResult>>(event)
      const input = superjson.deserialize<Record<string, string>>(body['0']!)
      calls.push({ path, input })
      let result: unknown
      if (path === 'subscribe') {
        stored = [...stored.filter(s => s.endpoint !== input.endpoint), { id: `d${stored.length + 1}`, endpoint: input.endpoint! }]
        result = { id: stored.at(-1)!.id }
      }
      else if (path === 'unsubscribe') {
        const before = stored.length
        stored = stored.filter(s => s.endpoint !== input.endpoint)
        result = { removed: stored.length < before }
      }
      else {
        stored = stored.filter(s => s.id !== input.id)
        result = { removed: true }
      }
      return [{ result: { data: superjson.serialize(result) } }]
    },
  })
}

describe('usePush', () => {
  let manager: FakePushManager
  let permission: NotificationPermission
  let answer: NotificationPermission

  beforeEach(() => {
    calls.length = 0
    stored = [{ id: 'd0', endpoint: 'https://updates.push.services.mozilla.com/wpush/v2/laptop' }]
    manager = new FakePushManager()
    permission = 'default'
    answer = 'granted'
    const registration = { pushManager: manager }
    Object.defineProperty(navigator, 'serviceWorker', { configurable: true, value: { ready: Promise.resolve(registration), getRegistration: async () => registration } })
    vi.stubGlobal('PushManager', FakePushManager)
    vi.stubGlobal('Notification', {
      get permission() { return permission },
      requestPermission: vi.fn(async () => (permission = answer)),
    })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    Reflect.deleteProperty(navigator, 'serviceWorker')
  })

  it('enables push: asks permission, subscribes with the server key, registers the subscription, lists it as this device', async () => {
    const push = usePush()
    expect(push.detect()).toBe('supported')
    await push.refresh()
    expect(push.endpoint.value).toBeNull()
    expect(push.devices.value.map(d => d.thisDevice)).toEqual([false])

    await push.enable()
    expect(Notification.requestPermission).toHaveBeenCalledOnce()
    expect(manager.subscribeCalls).toHaveLength(1)
    expect(manager.subscribeCalls[0]!.userVisibleOnly).toBe(true)
    expect([...manager.subscribeCalls[0]!.applicationServerKey]).toEqual([...base64urlToBytes(serverKey)])
    expect(calls.find(c => c.path === 'subscribe')!.input).toEqual({
      endpoint: 'https://fcm.googleapis.com/fcm/send/device-1',
      keys: { p256dh: Buffer.alloc(65, 4).toString('base64url'), auth: Buffer.alloc(16, 9).toString('base64url') },
      userAgent: navigator.userAgent,
    })
    expect(push.endpoint.value).toBe('https://fcm.googleapis.com/fcm/send/device-1')
    expect(push.devices.value.filter(d => d.thisDevice).map(d => d.id)).toEqual(['d2'])

    // Enabling again reuses the browser's subscription (same key).
    await push.enable()
    expect(manager.subscribeCalls).toHaveLength(1)
  })

  it('re-subscribes when the browser\'s subscription was made with another server key', async () => {
    await manager.subscribe({ applicationServerKey: new Uint8Array(65).fill(1) })
    const old = manager.current!
    await usePush().enable()
    expect(old.unsubscribed).toBe(true)
    expect(manager.subscribeCalls).toHaveLength(2)
  })

  it('says why when permission is denied, and does not subscribe', async () => {
    answer = 'denied'
    const push = usePush()
    await expect(push.enable()).rejects.toThrow(/blocked for this site/)
    expect(push.permission.value).toBe('denied')
    expect(manager.subscribeCalls).toEqual([])
    expect(calls.some(c => c.path === 'subscribe')).toBe(false)
  })

  it('turning off or removing this device unsubscribes the browser and the server; another device is removed by id', async () => {
    const push = usePush()
    await push.enable()
    const sub = manager.current!
    const other = push.devices.value.find(d => !d.thisDevice)!
    await push.remove(other)
    expect(calls.at(-1)).toEqual({ path: 'remove', input: { id: 'd0' } })
    expect(sub.unsubscribed).toBe(false)

    await push.remove(push.devices.value.find(d => d.thisDevice)!)
    expect(calls.some(c => c.path === 'unsubscribe' && (c.input as { endpoint: string }).endpoint === sub.endpoint)).toBe(true)
    expect(sub.unsubscribed).toBe(true)
    expect(push.endpoint.value).toBeNull()
    expect(push.devices.value).toEqual([])
  })

  it('sign-out forgets this browser\'s subscription on the server and in the browser; nothing to do without one', async () => {
    const push = usePush()
    await push.enable()
    const sub = manager.current!
    calls.length = 0
    await forgetPushOnThisDevice(push)
    expect(calls).toEqual([{ path: 'unsubscribe', input: { endpoint: sub.endpoint } }])
    expect(sub.unsubscribed).toBe(true)
    calls.length = 0
    await forgetPushOnThisDevice(push)
    expect(calls).toEqual([])
  })

  it('reports a browser without service workers or Push, without touching the server', async () => {
    const api = { publicKey: vi.fn(), subscribe: vi.fn(), unsubscribe: vi.fn(), list: vi.fn(async () => []), remove: vi.fn() } as unknown as PushApi
    const noSw = createPushClient(api, { hasPushManager: false, userAgent: 'x' })
    expect(noSw.detect()).toBe('no-service-worker')
    await expect(noSw.enable()).rejects.toThrow(/cannot run the app’s service worker/)
    const noPush = createPushClient(api, { serviceWorker: navigator.serviceWorker as never, hasPushManager: false, userAgent: 'x' })
    expect(noPush.detect()).toBe('no-push')
    await expect(noPush.enable()).rejects.toThrow(/Home Screen/)
    expect(api.subscribe).not.toHaveBeenCalled()
    expect(api.publicKey).not.toHaveBeenCalled()
  })
})
