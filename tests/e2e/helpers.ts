// Shared pieces of the browser and socket tests: Debian Chromium, hydration, HTTP and WS clients.
import { existsSync } from 'node:fs'
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import superjson from 'superjson'
import { expect, inject } from 'vitest'
import WebSocket from 'ws'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { fromWireEvent, type ProjectEvent } from '../../shared/events'

const CHROMIUM = '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) {
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: install chromium (apt-get install -y chromium) to run browser tests`)
  console.warn('install chromium (apt-get install -y chromium) to run browser tests')
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

/** Debian's Chromium (`npx playwright install` cannot work here), kept off the closed network. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/**
 * The same Chromium with a profile on disk: what install checks need (in a throwaway incognito-like
 * context Chromium answers "in-incognito" to `Page.getInstallabilityErrors`).
 */
export function launchPersistentChromium(userDataDir: string, options: Parameters<typeof chromium.launchPersistentContext>[1] = {}) {
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, ...options })
}

/** Until Vue has mounted, a form submit would be a plain browser navigation. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => {
    const root = document.querySelector('#__nuxt') as (Element & { __vue_app__?: unknown }) | null
    return !!root?.__vue_app__
  })
}

/** One tRPC mutation over HTTP with a browser context's cookies, as the app itself would make it (to the shared server unless `baseUrl`). */
export async function call<T>(context: BrowserContext, path: string, input: unknown, baseUrl = inject('baseUrl')): Promise<T> {
  const res = await context.request.post(`${baseUrl}/api/trpc/${path}`, { data: { json: input }, headers: { origin: baseUrl } })
  const body = await res.json() as { result?: { data: { json: T } }, error?: unknown }
  if (!res.ok() || !body.result) throw new Error(`${path} failed: ${JSON.stringify(body)}`)
  return body.result.data.json
}

/** One tRPC query over HTTP with a browser context's cookies (to the shared server unless `baseUrl`). */
export async function query<T>(context: BrowserContext, path: string, input: unknown, baseUrl = inject('baseUrl')): Promise<T> {
  const res = await context.request.get(`${baseUrl}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`)
  const body = await res.json() as { result?: { data: { json: T } }, error?: unknown }
  if (!res.ok() || !body.result) throw new Error(`${path} failed: ${JSON.stringify(body)}`)
  return body.result.data.json
}

/** Registers a fresh user called `name` (username: its first word plus a unique suffix); the context is then signed in. */
export async function register(context: BrowserContext, name: string, baseUrl = inject('baseUrl')): Promise<{ id: string, username: string, email: string }> {
  const username = `${name.split(' ')[0]!.toLowerCase()}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const email = `${username}@example.test`
  const user = await call<{ id: string }>(context, 'auth.register', { email, username, name, password: 'correct horse battery' }, baseUrl)
  return { id: user.id, username, email }
}

/** An HTTP client of one server with its own cookie jar, as one browser would be. */
export function httpClient(baseUrl: string) {
  let cookie = ''
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({
      url: `${baseUrl}/api/trpc`,
      transformer: superjson,
      headers: () => (cookie ? { cookie } : {}),
      fetch: async (url, init) => {
        const res = await fetch(url, init)
        const session = res.headers.getSetCookie().find(c => c.startsWith('tt_session='))
        if (session) cookie = session.split(';')[0]!
        return res
      },
    })],
  })
  return { client, cookie: () => cookie }
}

/** `ws`, with extra headers on the upgrade request (a browser sends its cookies by itself). */
export function webSocketWithHeaders(headers: Record<string, string>): typeof globalThis.WebSocket {
  class HeaderWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers })
    }
  }
  // ws implements what wsClient uses of the DOM WebSocket, but its types differ (binaryType 'nodebuffer', no dispatchEvent).
  return HeaderWebSocket as unknown as typeof globalThis.WebSocket
}

/**
 * Subscribes to a project's events; `next()` waits (at most `waitMs`) for the next one, or throws the
 * subscription's error. Every tracked id must be the event's seq.
 */
export function collectProjectEvents(client: TRPCClient<AppRouter>, projectId: string, waitMs = 15_000) {
  const events: ProjectEvent[] = []
  let failed: unknown = null
  let wake: (() => void) | null = null
  let started!: () => void
  const startedPromise = new Promise<void>(resolve => (started = resolve))
  const sub = client.project.onEvent.subscribe({ projectId }, {
    onStarted: () => started(),
    onData: ({ id, data }) => {
      // The named form (no `wire: 2` asked): the event carries its seq.
      const event = fromWireEvent(data)
      expect(id).toBe(String(event.seq))
      events.push(event)
      wake?.()
    },
    onError: (error) => {
      failed = error
      started()
      wake?.()
    },
  })
  let read = 0
  return {
    started: startedPromise,
    events,
    error: () => failed,
    async next(): Promise<ProjectEvent> {
      const deadline = Date.now() + waitMs
      while (read >= events.length) {
        if (failed) throw failed
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no event within ${waitMs} ms (received ${events.length})`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        wake = null
      }
      return events[read++]!
    },
    unsubscribe: () => sub.unsubscribe(),
  }
}
