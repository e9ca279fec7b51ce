// What the service worker caches and what the page clears on sign-out (docs/pwa.md). Shared so the
// worker, the page and the tests agree on one list.

/** Every runtime cache name starts with this: on sign-out the page deletes them all. */
export const RUNTIME_CACHE_PREFIX = 'tt-runtime-'
/** Server-rendered pages visited while online (NetworkFirst). */
export const PAGES_CACHE = `${RUNTIME_CACHE_PREFIX}pages`
/** tRPC reads a board needs (NetworkFirst). */
export const API_CACHE = `${RUNTIME_CACHE_PREFIX}api`

/**
 * tRPC queries whose last answer may be shown offline: what the board, the list and an open task
 * read. Everything else (tokens, notification settings, digests, previews) always goes to the
 * network, so a stale copy never stands in for a security-relevant answer.
 */
export const OFFLINE_READS: ReadonlySet<string> = new Set([
  'auth.me',
  'project.list',
  'project.byId',
  'task.list',
  'task.byId',
  'task.mine',
  'label.list',
  'member.list',
  'comment.list',
  'activity.list',
  'notification.list',
  'notification.unreadCount',
  'notification.watchStatus',
  'presence.myStatus',
])

/** True for a GET of `/api/trpc/a,b,c` (httpBatchLink) whose procedures are all {@link OFFLINE_READS}. */
export function isOfflineRead(url: URL, method: string): boolean {
  if (method !== 'GET' || !url.pathname.startsWith('/api/trpc/')) return false
  const names = decodeURIComponent(url.pathname.slice('/api/trpc/'.length)).split(',')
  return names.length > 0 && names.every(name => OFFLINE_READS.has(name))
}

/** Pages worth keeping for offline use: the app's own, not the API, dev tools or one-off links. */
export function isOfflinePage(url: URL): boolean {
  return !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/dev/') && !url.pathname.startsWith('/email/')
    && url.pathname !== '/login' && url.pathname !== '/register'
}

/** A push message as the server sends it (the push helper's notifier): the tag replaces earlier ones. */
export interface PushPayload {
  title: string
  body?: string
  tag?: string
  url?: string
}

/** The payload of a push event, or null when it is not one of ours. */
export function parsePushPayload(text: string | null | undefined): PushPayload | null {
  if (!text) return null
  try {
    const data = JSON.parse(text) as Partial<PushPayload> | null
    if (!data || typeof data.title !== 'string' || !data.title) return null
    return {
      title: data.title,
      body: typeof data.body === 'string' ? data.body : undefined,
      tag: typeof data.tag === 'string' ? data.tag : undefined,
      url: typeof data.url === 'string' ? data.url : undefined,
    }
  }
  catch {
    return null
  }
}

/** Where a notification click should go: a same-origin path only (never another site), else the home page. */
export function pushTarget(url: string | undefined, origin: string): string {
  if (!url) return `${origin}/`
  try {
    const target = new URL(url, origin)
    return target.origin === origin ? target.href : `${origin}/`
  }
  catch {
    return `${origin}/`
  }
}

/** The message a page sends the worker to take the waiting version (the "Reload" of "Update available"). */
export const SKIP_WAITING = { type: 'SKIP_WAITING' } as const
