import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { base64urlToBytes, createPushClient, forgetPushOnThisDevice, usePush, type PushApi } from '~/composables/usePush'
import { serveRealRouter, type RealServer } from '../factories/realRouter'

// The browser's PushManager and Notification are outside the system: faked here. The server is the
// app's real router (tests/factories/realRouter.ts).

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

const laptop = 'https://updates.push.services.mozilla.com/wpush/v2/laptop'
const keysOf = (fill: number) => ({ p256dh: Buffer.alloc(65, fill).toString('base64url'), auth: Buffer.alloc(16, fill).toString('base64url') })

let server: RealServer
let serverKey: string
beforeAll(async () => {
  server = await serveRealRouter()
  serverKey = (await server.me.caller.push.publicKey()).publicKey
})
afterAll(() => server.close())

/** The signed-in user's subscriptions as the database holds them. */
const stored = () => server.db.prisma.pushSubscription.findMany({ where: { userId: server.me.user.id }, orderBy: { createdAt: 'asc' } })

describe('usePush', () => {
  let manager: FakePushManager
  let permission: NotificationPermission
  let answer: NotificationPermission

  beforeEach(async () => {
    await server.db.prisma.pushSubscription.deleteMany({ where: { userId: server.me.user.id } })
    await server.me.caller.push.subscribe({ endpoint: laptop, keys: keysOf(7), userAgent: 'Firefox on Linux' })
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
    const [, phone] = await stored()
    expect(phone).toMatchObject({
      endpoint: 'https://fcm.googleapis.com/fcm/send/device-1',
      p256dh: Buffer.alloc(65, 4).toString('base64url'),
      auth: Buffer.alloc(16, 9).toString('base64url'),
      userAgent: navigator.userAgent,
    })
    expect(push.endpoint.value).toBe('https://fcm.googleapis.com/fcm/send/device-1')
    expect(push.devices.value.filter(d => d.thisDevice).map(d => d.id)).toEqual([phone!.id])

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
    const before = server.requests.length
    const push = usePush()
    await expect(push.enable()).rejects.toThrow(/blocked for this site/)
    expect(push.permission.value).toBe('denied')
    expect(manager.subscribeCalls).toEqual([])
    expect(server.requests.slice(before).flatMap(r => r.paths)).not.toContain('push.subscribe')
    expect((await stored()).map(s => s.endpoint)).toEqual([laptop])
  })

  it('turning off or removing this device unsubscribes the browser and the server; another device is removed by id', async () => {
    const push = usePush()
    await push.enable()
    const sub = manager.current!
    const other = push.devices.value.find(d => !d.thisDevice)!
    await push.remove(other)
    expect((await stored()).map(s => s.endpoint)).toEqual([sub.endpoint])
    expect(sub.unsubscribed).toBe(false)

    await push.remove(push.devices.value.find(d => d.thisDevice)!)
    expect(await stored()).toEqual([])
    expect(sub.unsubscribed).toBe(true)
    expect(push.endpoint.value).toBeNull()
    expect(push.devices.value).toEqual([])
  })

  it('sign-out forgets this browser\'s subscription on the server and in the browser; nothing to do without one', async () => {
    const push = usePush()
    await push.enable()
    const sub = manager.current!
    const before = server.requests.length
    await forgetPushOnThisDevice(push)
    expect(server.requests.slice(before).flatMap(r => r.paths)).toEqual(['push.unsubscribe'])
    expect((await stored()).map(s => s.endpoint)).toEqual([laptop])
    expect(sub.unsubscribed).toBe(true)
    const after = server.requests.length
    await forgetPushOnThisDevice(push)
    expect(server.requests.length).toBe(after)
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
