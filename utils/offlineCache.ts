import { RUNTIME_CACHE_PREFIX } from '~~/shared/pwa'

/**
 * Deletes what the service worker kept of the signed-in user (visited pages and API reads), so
 * the next person on this browser never sees it offline. The app shell (precache) stays: it holds
 * no user data. CacheStorage is shared with the worker, so the page can delete it directly.
 */
export async function clearOfflineCaches(): Promise<void> {
  if (typeof caches === 'undefined') return
  try {
    const names = await caches.keys()
    await Promise.all(names.filter(name => name.startsWith(RUNTIME_CACHE_PREFIX)).map(name => caches.delete(name)))
  }
  catch {
    // CacheStorage refused (a private window may): nothing was stored there either.
  }
}
