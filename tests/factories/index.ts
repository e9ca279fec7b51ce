import { randomBytes } from 'node:crypto'
import type { TaskCreateInput } from '../../shared/schemas/task'
import { createContextInner, type CookieJar } from '../../server/trpc/context'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'

export const TEST_PASSWORD = 'correct-horse-battery'

export function cookieJar(): CookieJar & { values: Map<string, string> } {
  const values = new Map<string, string>()
  return {
    values,
    get: name => values.get(name),
    set: (name, value) => void values.set(name, value),
    delete: name => void values.delete(name),
  }
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
