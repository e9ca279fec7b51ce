/// <reference lib="webworker" />
// The app's service worker (built by @vite-pwa/nuxt, injectManifest). docs/pwa.md explains what is
// cached and why; the lists live in shared/pwa.ts.
import { CacheableResponsePlugin } from 'workbox-cacheable-response'
import { clientsClaim } from 'workbox-core'
import { ExpirationPlugin } from 'workbox-expiration'
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching'
import { registerRoute } from 'workbox-routing'
import { NetworkFirst } from 'workbox-strategies'
import { API_CACHE, PAGES_CACHE, isOfflinePage, isOfflineRead, parsePushPayload, pushTarget } from '../shared/pwa'

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<string | { url: string, revision: string | null }> }

// The app shell: hashed /_nuxt/ bundles, icons, the manifest. A new build lists new files; the
// old precache is dropped once the new worker activates.
precacheAndRoute(self.__WB_MANIFEST)
cleanupOutdatedCaches()
// The first worker takes the open tab at once, so the page being looked at is cached for offline
// use. A later version only activates when the user chooses "Reload" (see `message` below).
clientsClaim()

// Only complete answers are kept: an error, a redirect to /login or a partial batch never replaces a good copy.
const okOnly = () => new CacheableResponsePlugin({ statuses: [200] })

// Server-rendered pages: always the network while there is one (fresh data, fresh CSP nonce), the
// last copy offline. The HTML carries the page's data, so a board visited once opens with its cards.
registerRoute(
  ({ request, url }) => request.mode === 'navigate' && url.origin === self.location.origin && isOfflinePage(url),
  new NetworkFirst({ cacheName: PAGES_CACHE, plugins: [okOnly(), new ExpirationPlugin({ maxEntries: 50 })] }),
)

// tRPC reads of the board, the list and a task (client-side navigations fetch these).
registerRoute(
  ({ request, url }) => url.origin === self.location.origin && isOfflineRead(url, request.method),
  new NetworkFirst({ cacheName: API_CACHE, plugins: [okOnly(), new ExpirationPlugin({ maxEntries: 200 })] }),
)

// registerType 'prompt': a new version waits until the page's "Reload" asks for it, so code is
// never swapped under someone mid-edit.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting()
})

// Web Push: the server sends { title, body, tag, url } (tag: one per task, so repeats replace each other).
self.addEventListener('push', (event) => {
  const payload = parsePushPayload(event.data?.text())
  if (!payload) return
  event.waitUntil(self.registration.showNotification(payload.title, {
    body: payload.body,
    tag: payload.tag,
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { url: payload.url },
  }))
})

// A click focuses a tab of the app on the task (navigating it there), or opens one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const target = pushTarget((event.notification.data as { url?: string } | null)?.url, self.location.origin)
  event.waitUntil((async () => {
    const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
    const tab = tabs.find(c => c.url === target) ?? tabs.find(c => new URL(c.url).origin === self.location.origin)
    if (tab) {
      const focused = await tab.focus()
      if (focused.url !== target) await focused.navigate(target)
      return
    }
    await self.clients.openWindow(target)
  })())
})
