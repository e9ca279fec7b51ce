import { hash, verify } from '@node-rs/argon2'
import type { LoginInput, RegisterInput } from '../../shared/schemas/auth'
import type { Db } from '../utils/db'
import { newId } from '../utils/ids'
import { TokenBucketLimiter } from '../utils/rateLimit'
import { DomainError } from './errors'
import { createSession, generateToken, sessionUserSelect, type Session, type SessionUser } from './session'

// argon2id with OWASP's minimum recommended parameters (19 MiB, 2 passes, 1 lane).
const ARGON2 = { algorithm: 2 /* Algorithm.Argon2id (const enum) */, memoryCost: 19456, timeCost: 2, parallelism: 1 }

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2)
}

// Verified against when the account does not exist, so timing does not reveal which logins exist.
let dummyHash: Promise<string> | undefined

/** Per IP: 20 attempts at once, then one every 6 s. Per account: 5 at once, then one a minute. */
export const loginLimits = {
  ip: new TokenBucketLimiter(20, 1 / 6),
  account: new TokenBucketLimiter(5, 1 / 60),
}

export interface SignedIn {
  user: SessionUser
  session: Session
  token: string
}

export async function register(db: Db, input: RegisterInput): Promise<SignedIn> {
  const taken = await db.user.findFirst({
    where: { OR: [{ email: input.email }, { username: input.username }] },
    select: { email: true, username: true },
  })
  if (taken?.email === input.email) {
    throw new DomainError('CONFLICT', 'An account with this email already exists', { field: 'email' })
  }
  if (taken) throw new DomainError('CONFLICT', `The username ${input.username} is taken`, { field: 'username' })
  const passwordHash = await hashPassword(input.password)
  const user = await db.user.create({
    data: { id: newId(), email: input.email, username: input.username, name: input.name, passwordHash },
    select: sessionUserSelect,
  })
  const token = generateToken()
  const session = await createSession(db, token, user.id)
  return { user, session, token }
}

export async function login(db: Db, input: LoginInput, ip: string): Promise<SignedIn> {
  const ipWait = loginLimits.ip.take(ip)
  if (ipWait > 0) {
    throw new DomainError('TOO_MANY_REQUESTS', `Too many sign-in attempts from your network. Try again in ${ipWait} s.`, { retryAfterSeconds: ipWait })
  }
  const user = await db.user.findFirst({
    where: input.login.includes('@') ? { email: input.login } : { username: input.login },
    select: { ...sessionUserSelect, passwordHash: true },
  })
  // Keyed by the account, not by what was typed: its email and its username share one budget.
  const accountKey = user?.id ?? input.login
  const accountWait = loginLimits.account.take(accountKey)
  if (accountWait > 0) {
    throw new DomainError('TOO_MANY_REQUESTS', `Too many sign-in attempts for this account. Try again in ${accountWait} s.`, { retryAfterSeconds: accountWait })
  }
  if (!user) {
    dummyHash ??= hashPassword('not-a-real-password')
    await verify(await dummyHash, input.password)
    throw new DomainError('UNAUTHORIZED', 'Wrong email, username or password')
  }
  if (!(await verify(user.passwordHash, input.password))) {
    throw new DomainError('UNAUTHORIZED', 'Wrong email, username or password')
  }
  loginLimits.account.reset(accountKey)
  const { passwordHash: _, ...sessionUser } = user
  const token = generateToken()
  const session = await createSession(db, token, user.id)
  return { user: sessionUser, session, token }
}
