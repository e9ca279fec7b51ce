import { createHash, randomBytes } from 'node:crypto'
import { TRPCError } from '@trpc/server'
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import'
import type { TaskCreateInput } from '../../shared/schemas/task'
import { createContextInner, type CookieJar, type CookieOptions } from '../../server/trpc/context'
import { appRouter, createCaller } from '../../server/trpc/routers/_app'
import type { Database, Db } from '../../server/utils/db'

export const TEST_PASSWORD = 'correct-horse-battery'

export interface TestCookieJar extends CookieJar {
  values: Map<string, string>
  /** every Set-Cookie the server sent, in order (a deletion has value '') */
  sent: { name: string, value: string, opts: CookieOptions }[]
}

export function cookieJar(): TestCookieJar {
  const values = new Map<string, string>()
  const sent: TestCookieJar['sent'] = []
  return {
    values,
    sent,
    get: name => values.get(name),
    set: (name, value, opts) => {
      sent.push({ name, value, opts })
      values.set(name, value)
    },
    delete: (name) => {
      sent.push({ name, value: '', opts: { expires: new Date(0) } })
      values.delete(name)
    },
  }
}

/** Hex SHA-256, computed independently of the server's helper. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

export type ErrorShape = ReturnType<typeof formatError>

/** The error shape a client would receive for this error (runs the app's errorFormatter). */
export function formatError(error: TRPCError, path?: string) {
  return getErrorShape({ config: appRouter._def._config, error, type: 'mutation', path, input: undefined, ctx: undefined })
}

/** Awaits a call that must fail with a tRPC error; returns the code and the client-facing shape. */
export async function failure(call: Promise<unknown>) {
  let result: unknown
  try {
    result = await call
  }
  catch (error) {
    if (!(error instanceof TRPCError)) throw error
    const shape = formatError(error)
    return { code: error.code, message: shape.message, data: shape.data, fieldErrors: shape.data.fieldErrors, error }
  }
  throw new Error(`Expected the call to fail, but it returned ${JSON.stringify(result)}`)
}

export type Caller = ReturnType<typeof createCaller>

/** A caller acting with the given cookies (or bearer token), as one HTTP request would. */
export async function callerFor(db: Database, opts: { jar?: CookieJar, bearer?: string, ip?: string } = {}): Promise<Caller> {
  const ctx = await createContextInner({
    db: db.prisma,
    env: { secureCookies: false },
    cookies: opts.jar ?? cookieJar(),
    bearer: opts.bearer,
    ip: opts.ip ?? `10.0.${randomBytes(1)[0]}.${randomBytes(1)[0]}`,
  })
  return createCaller(ctx)
}

export function uniqueName(prefix = 'user') {
  return `${prefix}${randomBytes(4).toString('hex')}`
}

/** Registers a user; returns the user, their cookie jar and a signed-in caller. */
export async function signUp(db: Database, overrides: Partial<{ username: string, name: string, email: string, password: string }> = {}) {
  const username = overrides.username ?? uniqueName()
  const jar = cookieJar()
  const anon = await callerFor(db, { jar })
  const user = await anon.auth.register({
    email: overrides.email ?? `${username}@example.test`,
    username,
    name: overrides.name ?? `Test ${username}`,
    password: overrides.password ?? TEST_PASSWORD,
  })
  return { user, jar, caller: await callerFor(db, { jar }) }
}

/** An owner with a project, plus helpers to add teammates in a role. */
export async function projectWithTeam(db: Database) {
  const owner = await signUp(db)
  const project = await owner.caller.project.create({ name: `Project ${uniqueName('p')}` })
  const addMember = async (role: 'ADMIN' | 'MEMBER' | 'VIEWER' | 'OWNER') => {
    const member = await signUp(db)
    await owner.caller.member.add({ projectId: project.id, username: member.user.username, role })
    return member
  }
  return { owner, project, addMember }
}

export function taskInput(projectId: string, overrides: Partial<TaskCreateInput> = {}): TaskCreateInput {
  return { projectId, title: `Task ${uniqueName('t')}`, ...overrides }
}

/** The database's client, counting every query made through it (model calls and raw SQL). */
export function countingDb(db: Database) {
  const counter = { queries: 0 }
  const client = db.prisma.$extends({
    query: {
      async $allOperations({ args, query }) {
        counter.queries++
        return query(args)
      },
    },
  }) as unknown as Db
  return { client, counter }
}
