import type { PushDevice } from '~~/shared/schemas/push'

/** What the page shows about this browser. */
export type PushSupport = 'unknown' | 'supported' | 'no-service-worker' | 'no-push' | 'no-notifications'

/** The browser APIs push needs; `usePush` passes the real ones, tests fakes (a PushManager is outside the system). */
export interface PushBrowser {
  serviceWorker?: {
    ready: Promise<{ pushManager: PushManager }>
    getRegistration: () => Promise<{ pushManager: PushManager } | undefined>
  }
  hasPushManager: boolean
  notification?: { permission: NotificationPermission, requestPermission: () => Promise<NotificationPermission> }
  userAgent: string
}

/** The server side (push router), injectable for tests. */
export interface PushApi {
  publicKey: () => Promise<{ publicKey: string }>
  subscribe: (input: { endpoint: string, keys: { p256dh: string, auth: string }, userAgent?: string | null }) => Promise<{ id: string }>
  unsubscribe: (input: { endpoint: string }) => Promise<{ removed: boolean }>
  list: (input: { endpoint?: string | null }) => Promise<PushDevice[]>
  remove: (input: { id: string }) => Promise<{ removed: true }>
}

/** How long "Enable" waits for the service worker to be active (it is registered in production builds only). */
export const SERVICE_WORKER_WAIT_MS = 10_000

export function base64urlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (value.length % 4)) % 4)
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function bytesToBase64url(buffer: ArrayBuffer | null | undefined): string {
  if (!buffer) return ''
  let binary = ''
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a) return false
  const x = new Uint8Array(a)
  return x.length === b.length && x.every((v, i) => v === b[i])
}

export class PushUnavailableError extends Error {}

/** The state and actions behind Settings → Devices, without Vue globals (tests build it with fakes). */
export function createPushClient(api: PushApi, browser: PushBrowser) {
  const support = ref<PushSupport>('unknown')
  const permission = ref<NotificationPermission | 'unsupported'>('default')
  /** this browser's subscription endpoint, when it has one */
  const endpoint = ref<string | null>(null)
  const devices = ref<PushDevice[]>([])
  const busy = ref(false)

  function detect(): PushSupport {
    if (!browser.serviceWorker) support.value = 'no-service-worker'
    else if (!browser.hasPushManager) support.value = 'no-push'
    else if (!browser.notification) support.value = 'no-notifications'
    else support.value = 'supported'
    permission.value = browser.notification?.permission ?? 'unsupported'
    return support.value
  }

  async function currentSubscription(): Promise<PushSubscription | null> {
    if (detect() !== 'supported') return null
    const registration = await browser.serviceWorker!.getRegistration()
    return (await registration?.pushManager.getSubscription()) ?? null
  }

  /** Reads this browser's subscription (if any) and the user's devices. */
  async function refresh() {
    const subscription = await currentSubscription().catch(() => null)
    endpoint.value = subscription?.endpoint ?? null
    devices.value = await api.list({ endpoint: endpoint.value })
  }

  function ready(): Promise<{ pushManager: PushManager }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new PushUnavailableError('The app’s service worker is not running yet. Reload the page and try again (it runs in the installed or production app only).')), SERVICE_WORKER_WAIT_MS)
      browser.serviceWorker!.ready.then((registration) => {
        clearTimeout(timer)
        resolve(registration)
      }, (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      })
    })
  }

  /** Asks for permission, subscribes this browser with the server's key and registers it. */
  async function enable(): Promise<void> {
    const supported = detect()
    if (supported !== 'supported') throw new PushUnavailableError(unsupportedText(supported))
    busy.value = true
    try {
      const answer = await browser.notification!.requestPermission()
      permission.value = answer
      if (answer !== 'granted') throw new PushUnavailableError(answer === 'denied' ? 'Notifications are blocked for this site. Allow them in the browser’s site settings, then try again.' : 'Notifications were not allowed.')
      const registration = await ready()
      const key = base64urlToBytes((await api.publicKey()).publicKey)
      let subscription = await registration.pushManager.getSubscription()
      // A subscription made with another server key (keys rotated) cannot receive our pushes.
      if (subscription && !sameKey(subscription.options?.applicationServerKey, key)) {
        await subscription.unsubscribe()
        subscription = null
      }
      subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key })
      await api.subscribe({
        endpoint: subscription.endpoint,
        keys: { p256dh: bytesToBase64url(subscription.getKey('p256dh')), auth: bytesToBase64url(subscription.getKey('auth')) },
        userAgent: browser.userAgent.slice(0, 300),
      })
      endpoint.value = subscription.endpoint
      devices.value = await api.list({ endpoint: endpoint.value })
    }
    finally {
      busy.value = false
    }
  }

  /** Stops push on this browser: the server forgets it and the browser drops the subscription. */
  async function disable(): Promise<void> {
    busy.value = true
    try {
      const subscription = await currentSubscription()
      const mine = subscription?.endpoint ?? endpoint.value
      if (mine) await api.unsubscribe({ endpoint: mine })
      await subscription?.unsubscribe()
      endpoint.value = null
      devices.value = await api.list({ endpoint: null })
    }
    finally {
      busy.value = false
    }
  }

  /** Sign-out: drops this browser's subscription here and on the server (no list afterwards). */
  async function forget(): Promise<void> {
    const subscription = await currentSubscription()
    if (!subscription) return
    await api.unsubscribe({ endpoint: subscription.endpoint }).catch(() => {})
    await subscription.unsubscribe()
    endpoint.value = null
  }

  /** Removes a device from the account (this browser's too: then it is also unsubscribed here). */
  async function remove(device: PushDevice): Promise<void> {
    if (device.thisDevice) return disable()
    await api.remove({ id: device.id })
    devices.value = devices.value.filter(d => d.id !== device.id)
  }

  return { support, permission, endpoint, devices, busy, detect, refresh, enable, disable, remove, forget }
}

export function unsupportedText(support: PushSupport): string {
  switch (support) {
    case 'no-service-worker': return 'This browser cannot run the app’s service worker, so it cannot receive push notifications. Notifications still arrive in the app and by email.'
    case 'no-push': return 'This browser has no Web Push. On iPhone and iPad, add TaskTracker Pro to the Home Screen (Share → Add to Home Screen) and open it from there.'
    case 'no-notifications': return 'This browser cannot show notifications.'
    default: return ''
  }
}

/** Push on this device for the signed-in user (Settings → Devices). */
export function usePush() {
  return createPushClient(pushApi(), currentBrowser())
}

/**
 * Before signing out: the server forgets this browser's subscription and the browser drops it, so
 * the next person on this device does not get the previous user's pushes. Never throws; gives up
 * after 3 s (sign-out must not hang on a service worker).
 */
export async function forgetPushOnThisDevice(client = createPushClient(pushApi(), currentBrowser())): Promise<void> {
  if (client.detect() !== 'supported') return
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 3_000)
  })
  await Promise.race([client.forget().catch(() => {}), timeout])
  clearTimeout(timer)
}

function pushApi(): PushApi {
  const { $trpc } = useNuxtApp()
  return {
    publicKey: () => $trpc.push.publicKey.query(),
    subscribe: input => $trpc.push.subscribe.mutate(input),
    unsubscribe: input => $trpc.push.unsubscribe.mutate(input),
    list: input => $trpc.push.list.query(input),
    remove: input => $trpc.push.remove.mutate(input),
  }
}

function currentBrowser(): PushBrowser {
  return import.meta.client
    ? {
        serviceWorker: 'serviceWorker' in navigator ? navigator.serviceWorker : undefined,
        hasPushManager: 'PushManager' in window,
        notification: 'Notification' in window ? { get permission() { return Notification.permission }, requestPermission: () => Notification.requestPermission() } : undefined,
        userAgent: navigator.userAgent,
      }
    : { hasPushManager: false, userAgent: '' }
}
