// Property-based fuzzing of every procedure of the appRouter through createCaller, on a real
// database: inputs are built from each procedure's zod schema (tests/integration/zodArbitrary.ts)
// with real ids of a fixture mixed in, so calls reach the database, then made hostile (NUL, lone
// surrogates, int4 overflow, dates PostgreSQL cannot store, missing / unknown fields, wrong types).
// Any answer but INTERNAL_SERVER_ERROR is fine. Reproduce a failure with the printed seed:
// FUZZ_SEED=<seed> npx vitest run --project pglite tests/integration/fuzz.test.ts (FUZZ_RUNS for more runs,
// FUZZ_TIME_MS for a longer time limit per procedure, FUZZ_STATS=1 for the outcomes per procedure).
import { TRPCError } from '@trpc/server'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { notificationsSettled } from '../../server/notifications/notifier'
import { markConnection } from '../../server/realtime/connection'
import { DomainError } from '../../server/services/errors'
import { createContextInner } from '../../server/trpc/context'
import { appRouter, createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { cookieJar, signUp, taskInput, type TestCookieJar } from '../factories'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'
import { arbitraryFor, hostileVariants } from './zodArbitrary'

type User = Awaited<ReturnType<typeof signUp>>

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const numRuns = Number(process.env.FUZZ_RUNS ?? 40)
/** Per procedure, shrinking included: keeps the file within about 20 s per database. */
const timeLimitMs = Number(process.env.FUZZ_TIME_MS ?? 1_500)

/** Changes the fixture so that later procedures would only see NOT_FOUND: each gets a fixture of its own. */
const destructive = new Set(['task.delete', 'member.remove', 'member.leave', 'member.updateRole'])

type Procedure = { _def: { type: 'query' | 'mutation' | 'subscription', inputs: z.core.$ZodType[] } }
// Flat at runtime ('task.list' → its procedure), though typed as the nested router record.
const flat: [string, Procedure][] = Object.entries(appRouter._def.procedures as object)
const procedures = flat
  .sort(([a], [b]) => Number(destructive.has(a)) - Number(destructive.has(b)) || a.localeCompare(b))

function describeInput(input: unknown): string {
  try {
    return JSON.stringify(input, (_, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`
      if (v === undefined) return '<undefined>'
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
      return v
    }) ?? String(input)
  }
  catch {
    return String(input)
  }
}

/** What a client would get for `error`: a TRPCError's code, or INTERNAL for anything else. */
function codeOf(error: unknown): string {
  if (error instanceof TRPCError) return error.code
  // Thrown while a subscription streams (after the procedure answered): mapped like in the middleware.
  if (error instanceof DomainError) return error.code
  return 'INTERNAL_SERVER_ERROR'
}

describe.runIf(databaseAvailable)('fuzz: every procedure with hostile input', () => {
  let db: Database
  let services: ReturnType<typeof installTestServices>
  const open: AbortController[] = []
  let connSeq = 0

  beforeAll(async () => {
    db = await createTestDatabase()
    // Fresh in-process buses and presence; socket calls are rate limited per user, and the fuzzer makes hundreds on purpose.
    services = installTestServices({ limits: { socket: { take: () => 0 } } })
    console.info(`[fuzz] seed ${seed}, ${numRuns} runs per procedure (FUZZ_SEED=${seed} to reproduce)`)
  })
  afterAll(async () => {
    for (const c of open.splice(0)) c.abort()
    await notificationsSettled()
    await services.services.presence.stop()
    services.restore()
    await db?.close()
  })

  type Ctx = Awaited<ReturnType<typeof createContextInner>>

  /** A request's context: over HTTP, or over a socket connection of its own (presence is per connection). */
  async function contextFor(jar: TestCookieJar, socket = false): Promise<Ctx> {
    const ctx = await createContextInner({ db: db.prisma, env: { secureCookies: false }, cookies: jar, ip: '10.9.9.9', socket })
    return socket ? markConnection(ctx, `fuzz-${++connSeq}`) : ctx
  }

  /** Signed up once (hashing passwords is the slow part); each fixture makes a project of its own for them. */
  let users: { owner: User, member: User, viewer: User, outsider: User } | undefined

  /** A project with a team, tasks, a comment, notifications, a mute and a token; plus another team's project and task. */
  async function buildFixture() {
    users ??= { owner: await signUp(db), member: await signUp(db), viewer: await signUp(db), outsider: await signUp(db) }
    const { owner, member, viewer, outsider } = users
    const project = await owner.caller.project.create({ name: 'Fuzzed' })
    await owner.caller.member.add({ projectId: project.id, username: member.user.username, role: 'MEMBER' })
    await owner.caller.member.add({ projectId: project.id, username: viewer.user.username, role: 'VIEWER' })
    const foreignProject = await outsider.caller.project.create({ name: 'Elsewhere' })
    const foreignTask = await outsider.caller.task.create(taskInput(foreignProject.id))
    const tasks = [
      await owner.caller.task.create(taskInput(project.id, { labels: ['bug'], dueDate: new Date('2030-01-01T00:00:00Z') })),
      await member.caller.task.create(taskInput(project.id, { assigneeId: owner.user.id, description: `@${owner.user.username} please` })),
      await owner.caller.task.create(taskInput(project.id, { status: 'DONE' })),
    ]
    await owner.caller.task.update({ id: tasks[0]!.id, baseVersion: 1, patch: { title: 'Renamed' } })
    const comment = await member.caller.comment.create({ taskId: tasks[0]!.id, body: `@${owner.user.username} look` })
    await notificationsSettled()
    const notifications = (await owner.caller.notification.list({})).items
    const mute = await owner.caller.notification.mute({ taskId: tasks[2]!.id })
    const token = await owner.caller.apiToken.create({ name: 'fuzz' })
    const { eventSeq } = await db.prisma.project.findUniqueOrThrow({ where: { id: project.id }, select: { eventSeq: true } })

    // The owner's socket joins the project's presence, so presence.update / typing get past "join first".
    const presenceCtx = await contextFor(owner.jar, true)
    const controller = new AbortController()
    open.push(controller)
    const presence = (await createCaller(presenceCtx, { signal: controller.signal }).presence.onProject({ projectId: project.id }) as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    await presence.next()

    const taskIds = [...tasks.map(t => t.id), foreignTask.id]
    const strings: Record<string, string[]> = {
      id: [project.id, foreignProject.id, ...taskIds, comment.id, mute.id, token.id, ...notifications.map(n => n.id)],
      projectId: [project.id, foreignProject.id],
      taskId: taskIds,
      afterId: taskIds,
      beforeId: taskIds,
      userId: [owner.user.id, member.user.id, viewer.user.id, outsider.user.id],
      assigneeId: [owner.user.id, member.user.id, outsider.user.id],
      ids: notifications.map(n => n.id),
      username: [member.user.username, viewer.user.username, outsider.user.username, 'nobody-here'],
      login: [owner.user.username, owner.user.email],
      cursor: ['1', String(eventSeq), String(eventSeq + 1)],
      lastEventId: ['0', '1', String(eventSeq)],
      label: ['bug'],
      search: ['Renamed', `${project.key}-1`, '2', 'task'],
    }
    const numbers: Record<string, number[]> = {
      baseVersion: [1, 2, 3],
      cursor: notifications.map(n => n.seq),
    }
    const known = (key: string, type: 'string' | 'number') => {
      const pool = type === 'string' ? strings[key] : numbers[key]
      return pool?.length ? fc.constantFrom(...pool) : undefined
    }
    return { owner, presenceCtx, known }
  }

  let shared: Awaited<ReturnType<typeof buildFixture>> | undefined

  /** Who a procedure is fuzzed as: public ones anonymous, presence over a socket, the rest as the project's owner. */
  async function setupFor(path: string) {
    const fixture = destructive.has(path) ? await buildFixture() : (shared ??= await buildFixture())
    let ctx = await contextFor(fixture.owner.jar)
    if (path === 'auth.register' || path === 'auth.login' || path === 'auth.me') ctx = await contextFor(cookieJar())
    // Signing out ends the session: a user of its own, so the fixture's owner stays signed in.
    if (path === 'auth.logout') ctx = await contextFor((await signUp(db)).jar)
    if (path === 'presence.onProject') ctx = await contextFor(fixture.owner.jar, true)
    else if (path.startsWith('presence.')) ctx = fixture.presenceCtx
    return { ctx, known: fixture.known }
  }

  async function call(ctx: Ctx, path: string, type: Procedure['_def']['type'], input: unknown) {
    const controller = new AbortController()
    const caller = createCaller(ctx, { signal: controller.signal })
    const fn = path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (input: unknown) => Promise<unknown>
    try {
      const result = await fn(input)
      if (type !== 'subscription') return
      // Start the stream (backfill reads happen on the first pull), then stop it.
      const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      const first = iterator.next()
      await new Promise(resolve => setImmediate(resolve))
      controller.abort()
      await first
      await iterator.return?.(undefined)
    }
    finally {
      controller.abort()
    }
  }

  it('covers every procedure of the router', () => {
    expect(procedures.length).toBeGreaterThan(40)
  })

  it.each(procedures.map(([path, proc]) => [path, proc._def.type] as const))('%s (%s)', async (path, type) => {
    const [, proc] = procedures.find(([p]) => p === path)!
    const { ctx, known } = await setupFor(path)
    const schema = proc._def.inputs[0]
    const input = schema ? hostileVariants(arbitraryFor(schema, { known })) : fc.oneof(fc.constant(undefined), fc.anything({ maxDepth: 1 }))
    const outcomes: Record<string, number> = {}
    const count = (outcome: string) => void (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1)
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        try {
          await call(ctx, path, type, value)
          count('ok')
        }
        catch (error) {
          count(codeOf(error))
          if (codeOf(error) === 'INTERNAL_SERVER_ERROR') {
            const reason = ((error instanceof TRPCError ? error.cause ?? error : error) as Error)?.message?.slice(0, 300)
            throw new Error(`${path}(${describeInput(value)}) failed with INTERNAL_SERVER_ERROR: ${reason}`, { cause: error })
          }
        }
      }),
      { seed, numRuns, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false },
    )
    // FUZZ_STATS=1 shows how many calls got through (ok) and how the others were refused.
    if (process.env.FUZZ_STATS) console.info(`[fuzz] ${path}`, JSON.stringify(outcomes))
    await notificationsSettled()
  })
})
