import type { Role } from '../../shared/schemas/common'
import type { DbTx } from '../utils/db'
import { DomainError, notFound } from './errors'

/** The user's role in a project, or null for a non-member (or a project that does not exist). */
export async function memberRole(db: DbTx, projectId: string, userId: string): Promise<Role | null> {
  const membership = await db.projectMember.findUnique({
    where: { projectId_userId: { projectId, userId } },
    select: { role: true },
  })
  return membership?.role ?? null
}

/**
 * The one access rule, for a project or a task in it: no role (not a member) is NOT_FOUND, exactly
 * like something that does not exist, so ids of other teams' projects and tasks leak nothing; with
 * `allowed`, a member whose role is not in the list gets FORBIDDEN.
 */
export function checkRole(role: Role | null | undefined, allowed: readonly Role[] | undefined, subject: { what: 'Project' | 'Task', id: string }): Role {
  if (!role) throw notFound(subject.what, subject.id)
  if (allowed && !allowed.includes(role)) {
    throw new DomainError('FORBIDDEN', subject.what === 'Task'
      ? `Your role (${role}) cannot change task ${subject.id}`
      : `Your role (${role}) cannot do this in project ${subject.id}`)
  }
  return role
}

/** The caller's role in a project, by {@link checkRole}. */
export async function requireRole(db: DbTx, projectId: string, userId: string, allowed?: readonly Role[]): Promise<Role> {
  return checkRole(await memberRole(db, projectId, userId), allowed, { what: 'Project', id: projectId })
}
