import type { Role } from '../../shared/schemas/common'
import type { DbTx } from '../utils/db'
import { DomainError, notFound } from './errors'

/**
 * The caller's role in a project. Non-members get NOT_FOUND, exactly like a project that does not
 * exist, so ids of other teams' projects leak nothing. With `allowed`, a member whose role is not in
 * the list gets FORBIDDEN.
 */
export async function requireRole(db: DbTx, projectId: string, userId: string, allowed?: readonly Role[]): Promise<Role> {
  const membership = await db.projectMember.findUnique({
    where: { projectId_userId: { projectId, userId } },
    select: { role: true },
  })
  if (!membership) throw notFound('Project', projectId)
  if (allowed && !allowed.includes(membership.role)) {
    throw new DomainError('FORBIDDEN', `Your role (${membership.role}) cannot do this in project ${projectId}`)
  }
  return membership.role
}
