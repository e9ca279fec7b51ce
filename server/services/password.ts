import { verify } from '@node-rs/argon2'
import type { ChangePasswordInput } from '../../shared/schemas/auth'
import type { Db } from '../utils/db'
import { hashPassword } from './auth'
import { DomainError } from './errors'
import { invalidateOtherSessions } from './session'
import { signInLimits, tooMany } from './signInLimits'

/**
 * Sets a new password after checking the current one. Every other session of the user ends, and
 * every socket of the user closes on every instance except those of `keepSessionId` (the browser
 * session that made the change): whoever knew the old password is signed out everywhere.
 */
export async function changePassword(db: Db, userId: string, keepSessionId: string | null, input: ChangePasswordInput): Promise<void> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { passwordHash: true } })
  if (!user) throw new DomainError('NOT_FOUND', `User ${userId} not found`)
  // A stolen session must not become an oracle for the password: guesses of the current password
  // draw on the account's sign-in budget size (5 per 15 minutes), under a key of their own.
  const limiter = signInLimits().account
  const key = `password-change:${userId}`
  const wait = await limiter.take(key)
  if (wait > 0) throw tooMany('Too many attempts at the current password.', wait)
  if (!(await verify(user.passwordHash, input.currentPassword))) {
    throw new DomainError('BAD_REQUEST', 'The current password is not right', { field: 'currentPassword' })
  }
  await limiter.reset(key)
  const passwordHash = await hashPassword(input.newPassword)
  await db.user.update({ where: { id: userId }, data: { passwordHash } })
  await invalidateOtherSessions(db, userId, keepSessionId)
}
