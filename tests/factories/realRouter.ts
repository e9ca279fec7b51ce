// For tests/nuxt: serves `/api/trpc/**` inside the Nuxt test environment from the app's own HTTP
// handler (server/trpc/http.ts: the tRPC fetch adapter over `appRouter`) on an in-memory PGlite
// loaded with the migrated template, so batch URLs, superjson and error shapes come from tRPC
// itself, never from the test. The tab's cookies are kept here, as a browser keeps them.
import { defineEventHandler, getQuery, readRawBody, type App, type H3Event } from 'h3'
import superjson, { type SuperJSONResult } from 'superjson'
import { Request as NodeRequest } from 'undici'
import { SESSION_COOKIE } from '../../server/services/session'
import { createTrpcHttpHandler } from '../../server/trpc/http'
import type { Database } from '../../server/utils/db'
import { parseEnv } from '../../server/utils/env'
import { createTestDatabase } from '../setup/testDb'
import { signUp, type TestCookieJar } from './index'

/** One HTTP request the client sent: its procedures as tRPC's batch link put them in the URL. */
export interface ServedRequest {
  method: string
  paths: string[]
  /** each call's input, decoded from what the client sent */
  inputs: unknown[]
  batch: boolean
  /** requests being served when this one arrived, itself included */
  concurrent: number
}

export type SignedInUser = Awaited<ReturnType<typeof signUp>>

export interface RealServer {
  db: Database
  /** the signed-in user of this tab (its cookies go with every request, until `useSession` changes them) */
  me: SignedInUser
  /** every request served, in order */
  requests: ServedRequest[]
  /** the procedures served, flattened, in order */
  paths: () => string[]
  /** the inputs `path` was called with, in order */
  inputsOf: (path: string) => unknown[]
  /** the tab now holds this user's cookies (or none: signed out) */
  useSession: (jar: TestCookieJar | null) => void
  /** the session token the tab holds now (login sets it, logout clears it, as Set-Cookie says) */
  sessionToken: () => string | undefined
  /**
   * While down, the handler cannot get its database, as when PGlite is closed or PostgreSQL is
   * unreachable: the app's own HTTP handler then answers 503 with Retry-After.
   */
  databaseDown: (down: boolean) => void
  /** requests that arrive from now on wait, unanswered, until the returned function is called */
  hold: () => () => void
  close: () => Promise<void>
}

interface TestWindow { __app?: App }

/** Applies a response's Set-Cookie lines to the tab's cookies (an empty value deletes). */
function applySetCookies(cookies: Map<string, string>, lines: string[]) {
  for (const line of lines) {
    const [pair] = line.split(';')
    const eq = pair!.indexOf('=')
    const name = pair!.slice(0, eq).trim()
    const value = pair!.slice(eq + 1)
    if (value) cookies.set(name, value)
    else cookies.delete(name)
  }
}

/**
 * Starts the real router for this test file and signs a fresh user in. A path a test registers
 * with `registerEndpoint` still goes to that handler (the environment routes registered paths
 * under `/_/`, which this layer does not match): the way to stage what the router cannot give.
 */
export async function serveRealRouter(): Promise<RealServer> {
  const app = (window as unknown as TestWindow).__app
  if (!app) throw new Error('serveRealRouter() runs in the nuxt test environment only')
  // The environment replaces Node's Request by happy-dom's, which drops the headers it is given (the
  // handler's copy of content-type: tRPC would answer 415). While this server runs, the handler
  // builds its requests with undici's, the implementation behind Node's own.
  const domRequest = globalThis.Request
  globalThis.Request = NodeRequest as unknown as typeof Request
  const db = await createTestDatabase()
  const env = parseEnv({ NODE_ENV: 'test', LOG_LEVEL: 'silent' })
  let down = false
  const trpc = createTrpcHttpHandler({
    env: () => env,
    db: async () => {
      if (down) throw new Error('PGlite is closed')
      return db.prisma
    },
  })
  const me = await signUp(db)
  // The tab's cookies: sent with every request, updated from every Set-Cookie, as a browser does.
  const cookies = new Map(me.jar.values)
  let gate: Promise<void> | null = null
  const requests: ServedRequest[] = []
  let inFlight = 0

  const handler = defineEventHandler(async (event: H3Event) => {
    const url = new URL(event.node.req.url ?? '/', 'http://localhost')
    const paths = decodeURIComponent(url.pathname.slice('/api/trpc/'.length)).split(',')
    const batch = url.searchParams.get('batch') === '1'
    const raw = event.method === 'GET' ? getQuery(event).input as string | undefined : await readRawBody(event, 'utf8')
    const sent = raw ? JSON.parse(raw) as Record<string, SuperJSONResult> | SuperJSONResult : undefined
    const inputs = paths.map((_, i) => {
      const one = batch ? (sent as Record<string, SuperJSONResult> | undefined)?.[String(i)] : sent as SuperJSONResult | undefined
      return one ? superjson.deserialize(one) : undefined
    })
    requests.push({ method: event.method, paths, inputs, batch, concurrent: ++inFlight })
    try {
      if (gate) await gate
      if (cookies.size) event.node.req.headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
      else delete event.node.req.headers.cookie
      const response = await trpc(event)
      if (!(response instanceof Response) || !response.headers.has('set-cookie')) return response
      applySetCookies(cookies, response.headers.getSetCookie())
      // Kept here, as a browser keeps httpOnly cookies from the page. (The environment's fetch would
      // also fail on them: @nuxt/test-utils 4.3.2 calls a splitCookiesString its bundle lacks.)
      const headers = new Headers(response.headers)
      headers.delete('set-cookie')
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
    }
    finally {
      inFlight--
    }
  })
  // A layer without a route prefix (a prefix would be cut off the URL the adapter parses); the
  // environment hands every same-origin request it has no registered endpoint for to this app.
  app.use(handler, { match: (url: string) => url.startsWith('/api/trpc/') })

  return {
    db,
    me,
    requests,
    paths: () => requests.flatMap(r => r.paths),
    inputsOf: path => requests.flatMap(r => r.inputs.filter((_, i) => r.paths[i] === path)),
    useSession: (jar) => {
      cookies.clear()
      for (const [name, value] of jar?.values ?? []) cookies.set(name, value)
    },
    sessionToken: () => cookies.get(SESSION_COOKIE),
    databaseDown: (value) => {
      down = value
    },
    hold: () => {
      let release!: () => void
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = null
          resolve()
        }
      })
      return release
    },
    close: async () => {
      const index = app.stack.findIndex(layer => layer.handler === handler)
      if (index >= 0) app.stack.splice(index, 1)
      globalThis.Request = domRequest
      await db.close()
    },
  }
}
