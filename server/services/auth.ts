import { hash, verify } from '@node-rs/argon2'
import type { LoginInput, RegisterInput } from '../../shared/schemas/auth'
import type { Db } from '../utils/db'
import { newId } from '../utils/ids'
import { DomainError } from './errors'
import { createSession, generateToken, sessionUserSelect, type Session, type SessionUser } from './session'
import { issueDeviceCookie, signInLimits, tooMany, trustedDevice, type DeviceCookie } from './signInLimits'

// argon2id with OWASP's minimum recommended parameters (19 MiB, 2 passes, 1 lane).
const ARGON2 = { algorithm: 2 /* Algorithm.Argon2id (const enum) */, memoryCost: 19456, timeCost: 2, parallelism: 1 }

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2)
}

// Verified against when the account does not exist, so timing does not reveal which logins exist.
let dummyHash: Promise<string> | undefined

export interface SignedIn {
  user: SessionUser
  session: Session
  token: string
  /** the device cookie to set: this browser is now a trusted device of the account */
  device: DeviceCookie
}

/** Where a sign-in or sign-up comes from. */
export interface Client {
  ip: string
  /** the `tt_device` cookie the request carried, if any */
  deviceCookie?: string
}

export async function register(db: Db, input: RegisterInput, client: Client): Promise<SignedIn> {
  // Before anything that costs: each sign-up hashes a password.
  const wait = await signInLimits().register.take(client.ip)
  if (wait > 0) throw tooMany('Too many new accounts from your network.', wait)
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
  return { user, session, token, device: await issueDeviceCookie(db, user.id) }
}

/**
 * Takes the points of one sign-in attempt, before the password is checked: from a trusted device
 * (a valid device cookie of this account whose own budget is not spent) only the device's; from
 * anywhere else the address's, the account's and the account-at-this-address's. Throws
 * TOO_MANY_REQUESTS, saying when to retry, when a budget is spent. Returns what to clear on success.
 */
async function takeAttempt(db: Db, accountKey: string, userId: string | null, client: Client) {
  const limits = signInLimits()
  const device = userId ? await trustedDevice(db, client.deviceCookie, userId) : null
  if (device && (await limits.device.take(device)) === 0) {
    return { onSuccess: () => Promise.all([limits.device.reset(device), limits.accountIp.reset(`${accountKey}|${client.ip}`)]) }
  }
  // An untrusted client (or a device that used up its own budget).
  const ipWait = await limits.ip.take(client.ip)
  if (ipWait > 0) throw tooMany('Too many sign-in attempts from your network.', ipWait)
  const accountWait = await limits.account.take(accountKey)
  if (accountWait > 0) throw tooMany('Too many sign-in attempts for this account.', accountWait, 'sign in from a browser you have used with it before')
  const pairKey = `${accountKey}|${client.ip}`
  const pairWait = await limits.accountIp.take(pairKey)
  if (pairWait > 0) throw tooMany('Too many failed sign-ins for this account from your network.', pairWait)
  return {
    onSuccess: () => Promise.all([limits.ip.refund(client.ip), limits.account.reset(accountKey), limits.accountIp.reset(pairKey)]),
  }
}

export async function login(db: Db, input: LoginInput, client: Client): Promise<SignedIn> {
  const user = await db.user.findFirst({
    where: input.login.includes('@') ? { email: input.login } : { username: input.login },
    select: { ...sessionUserSelect, passwordHash: true },
  })
  // Keyed by the account, not by what was typed: its email and its username share one budget.
  const accountKey = user?.id ?? input.login
  const attempt = await takeAttempt(db, accountKey, user?.id ?? null, client)
  if (!user) {
    dummyHash ??= hashPassword('not-a-real-password')
    await verify(await dummyHash, input.password)
    throw new DomainError('UNAUTHORIZED', 'Wrong email, username or password')
  }
  if (!(await verify(user.passwordHash, input.password))) {
    throw new DomainError('UNAUTHORIZED', 'Wrong email, username or password')
  }
  await attempt.onSuccess()
  const { passwordHash: _, ...sessionUser } = user
  const token = generateToken()
  const session = await createSession(db, token, user.id)
  return { user: sessionUser, session, token, device: await issueDeviceCookie(db, user.id) }
}
