// A database that goes away while the app runs: calls answer SERVICE_UNAVAILABLE (HTTP 503 with
// Retry-After), never a 500 or the driver's message, so clients keep their queued writes.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createApp, toNodeListener } from 'h3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTrpcHttpHandler } from '../../server/trpc/http'
import { openPostgres, type Database } from '../../server/utils/db'
import { parseEnv, type Env } from '../../server/utils/env'
import { readMigrationsFromDir } from '../../server/utils/migrate'
import { DATABASE_RETRY_AFTER_SECONDS } from '../../server/utils/outage'
import { failure, signUp, taskInput, type Caller } from '../factories'
import { findPostgresBin, startPostgres, type PostgresServer } from '../setup/postgres'
import { trpcCall } from '../setup/rawHttp'
import { createTestDatabase, databaseAvailable, usingPostgres } from '../setup/testDb'

/** The app's HTTP route around `db`, on a real h3 server. */
async function serve(db: Database) {
  const app = createApp()
  // The handler reads its settings per request; the origin is known once the server listens.
  const settings: { env?: Env } = {}
  app.use(createTrpcHttpHandler({ env: () => settings.env!, db: async () => db.prisma }))
  const server: Server = createServer(toNodeListener(app))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  settings.env = parseEnv({ NODE_ENV: 'test', PUBLIC_ORIGIN: base })
  return {
    base,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** What the user had before the outage: a session cookie, a caller (context resolved) and a project. */
async function signedInWithProject(db: Database) {
  const user = await signUp(db)
  const project = await user.caller.project.create({ name: 'Before the outage' })
  return { caller: user.caller as Caller, cookie: `tt_session=${user.jar.values.get('tt_session')}`, projectId: project.id }
}

const LEAKS = /ECONNREFUSED|127\.0\.0\.1|5432|SELECT|INSERT|postgres|pglite|prisma|stack/i

async function expectUnavailable(call: Promise<unknown>) {
  const { code, message, data } = await failure(call)
  expect(code).toBe('SERVICE_UNAVAILABLE')
  expect(message).toBe(`Server unavailable: the database cannot be reached. Retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`)
  expect(data).toMatchObject({ httpStatus: 503 })
  expect(JSON.stringify({ message, data })).not.toMatch(LEAKS)
}

async function expectHttp503(base: string, paths: string[], opts: Parameters<typeof trpcCall>[2]) {
  const res = await trpcCall(base, paths, opts)
  expect(res.status).toBe(503)
  expect(res.headers.get('retry-after')).toBe(String(DATABASE_RETRY_AFTER_SECONDS))
  for (const error of res.errors) expect(error).toMatchObject({ data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 } })
  expect(JSON.stringify(res.json)).not.toMatch(LEAKS)
}

// A private server of its own, so that stopping it affects no other test file.
describe.runIf(usingPostgres && findPostgresBin())('PostgreSQL stopped while the app runs', () => {
  let pg: PostgresServer | undefined
  let db: Database
  let http: Awaited<ReturnType<typeof serve>>
  let before: Awaited<ReturnType<typeof signedInWithProject>>

  beforeAll(async () => {
    pg = await startPostgres()
    db = await openPostgres(pg.url('postgres'), { max: 3 })
    await db.migrate(await readMigrationsFromDir(join(process.cwd(), 'prisma', 'migrations')))
    http = await serve(db)
    before = await signedInWithProject(db)
    expect((await trpcCall(http.base, ['project.list'], { method: 'GET', headers: { cookie: before.cookie } })).status).toBe(200)
    await pg.stop()
    pg = undefined
  })
  afterAll(async () => {
    await http?.close()
    await db?.close().catch(() => {})
    await pg?.stop()
  })

  it('a procedure call answers SERVICE_UNAVAILABLE without the driver\'s message', async () => {
    await expectUnavailable(before.caller.project.list())
    await expectUnavailable(before.caller.task.create(taskInput(before.projectId)))
  })

  it('over HTTP: 503 with Retry-After, for queries, mutations and batches, also while resolving the session', async () => {
    await expectHttp503(http.base, ['project.list'], { method: 'GET', headers: { cookie: before.cookie } })
    await expectHttp503(http.base, ['task.create', 'task.create'], { inputs: [taskInput(before.projectId), taskInput(before.projectId)], headers: { cookie: before.cookie } })
  })
})

describe.runIf(!usingPostgres && databaseAvailable)('embedded PGlite closed under the app', () => {
  let db: Database
  let http: Awaited<ReturnType<typeof serve>>
  let before: Awaited<ReturnType<typeof signedInWithProject>>

  beforeAll(async () => {
    db = await createTestDatabase()
    http = await serve(db)
    before = await signedInWithProject(db)
    await db.close()
  })
  afterAll(() => http?.close())

  it('answers SERVICE_UNAVAILABLE, over HTTP with 503 and Retry-After', async () => {
    await expectUnavailable(before.caller.project.list())
    await expectHttp503(http.base, ['project.list'], { method: 'GET', headers: { cookie: before.cookie } })
  })
})
