import { managerRoles, type Role } from '../../shared/schemas/common'
import type { MemberAddInput, ProjectCreateInput, ProjectUpdateInput } from '../../shared/schemas/project'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { requireRole } from './access'
import { DomainError, notFound } from './errors'
import { appendEvent, diffFields, jsonChanges, lockProject, transaction } from './events'

const projectSelect = {
  id: true,
  name: true,
  key: true,
  description: true,
  eventSeq: true,
  conflictPolicy: true,
  createdAt: true,
  updatedAt: true,
} as const

export const memberUserSelect = { id: true, username: true, name: true, status: true, lastSeenAt: true } as const

/** "Website relaunch" → "WR", "api" → "API". */
export function deriveKey(name: string): string {
  const words = name.toUpperCase().replace(/[^A-Z0-9 ]/g, ' ').split(/\s+/).filter(Boolean)
  let key = words.length > 1 ? words.map(w => w[0]).join('') : (words[0] ?? '').slice(0, 4)
  if (!/^[A-Z]/.test(key)) key = `P${key}`
  return key.padEnd(2, 'X').slice(0, 10)
}

export async function listProjects(db: Db, userId: string) {
  const memberships = await db.projectMember.findMany({
    where: { userId },
    select: {
      role: true,
      project: { select: { ...projectSelect, _count: { select: { members: true, tasks: { where: { deletedAt: null } } } } } },
    },
    orderBy: { project: { name: 'asc' } },
  })
  return memberships.map(({ role, project: { _count, ...project } }) => ({
    ...project,
    role,
    memberCount: _count.members,
    taskCount: _count.tasks,
  }))
}

export async function getProject(db: Db, userId: string, id: string) {
  const role = await requireRole(db, id, userId)
  const project = await db.project.findUniqueOrThrow({ where: { id }, select: projectSelect })
  return { ...project, role }
}

export async function createProject(db: Db, userId: string, input: ProjectCreateInput) {
  const id = newId()
  return transaction(db, async (tx) => {
    const project = await tx.project.create({
      data: {
        id,
        name: input.name,
        key: input.key ?? deriveKey(input.name),
        description: input.description,
        members: { create: { userId, role: 'OWNER' } },
      },
      select: projectSelect,
    })
    await appendEvent(tx, {
      projectId: id,
      type: 'project.created',
      actorId: userId,
      entityType: 'project',
      entityId: id,
      data: { name: project.name, key: project.key },
    })
    return { ...project, eventSeq: project.eventSeq + 1, role: 'OWNER' as Role }
  })
}

export async function updateProject(db: Db, userId: string, input: ProjectUpdateInput) {
  return transaction(db, async (tx) => {
    const role = await requireRole(tx, input.id, userId, managerRoles)
    const before = await tx.project.findUniqueOrThrow({ where: { id: input.id }, select: projectSelect })
    const { id, ...patch } = input
    const changes = diffFields(before, patch)
    if (Object.keys(changes).length === 0) return { ...before, role }
    await tx.project.update({ where: { id }, data: patch })
    await appendEvent(tx, { projectId: id, type: 'project.updated', actorId: userId, entityType: 'project', entityId: id, data: { changes: jsonChanges(changes) } })
    return { ...(await tx.project.findUniqueOrThrow({ where: { id }, select: projectSelect })), role }
  })
}

// --- members -------------------------------------------------------------------------------

export async function listMembers(db: Db, userId: string, projectId: string) {
  await requireRole(db, projectId, userId)
  const rows = await db.projectMember.findMany({
    where: { projectId },
    select: { role: true, createdAt: true, user: { select: memberUserSelect } },
  })
  const rank: Record<Role, number> = { OWNER: 0, ADMIN: 1, MEMBER: 2, VIEWER: 3 }
  return rows
    .map(r => ({ ...r.user, role: r.role, joinedAt: r.createdAt }))
    .sort((a, b) => rank[a.role] - rank[b.role] || a.name.localeCompare(b.name))
}

export async function addMember(db: Db, actorId: string, input: MemberAddInput) {
  return transaction(db, async (tx) => {
    const actorRole = await requireRole(tx, input.projectId, actorId, managerRoles)
    if (input.role === 'OWNER' && actorRole !== 'OWNER') throw new DomainError('FORBIDDEN', 'Only an owner can add another owner')
    const user = await tx.user.findUnique({ where: { username: input.username }, select: memberUserSelect })
    if (!user) throw new DomainError('NOT_FOUND', `No user with the username ${input.username}`, { field: 'username' })
    const existing = await tx.projectMember.findUnique({ where: { projectId_userId: { projectId: input.projectId, userId: user.id } } })
    if (existing) throw new DomainError('CONFLICT', `${input.username} is already a member of this project`, { field: 'username' })
    const member = await tx.projectMember.create({ data: { projectId: input.projectId, userId: user.id, role: input.role } })
    await appendEvent(tx, {
      projectId: input.projectId,
      type: 'member.added',
      actorId,
      entityType: 'member',
      entityId: user.id,
      data: { userId: user.id, username: user.username, name: user.name, role: input.role },
    })
    return { ...user, role: member.role, joinedAt: member.createdAt }
  })
}

/** Callers hold the project lock (lockProject): otherwise two owners leaving at once both see two owners. */
async function countOwners(tx: DbTx, projectId: string) {
  return tx.projectMember.count({ where: { projectId, role: 'OWNER' } })
}

export async function updateMemberRole(db: Db, actorId: string, input: { projectId: string, userId: string, role: Role }) {
  return transaction(db, async (tx) => {
    await lockProject(tx, input.projectId)
    const actorRole = await requireRole(tx, input.projectId, actorId, managerRoles)
    const target = await tx.projectMember.findUnique({ where: { projectId_userId: { projectId: input.projectId, userId: input.userId } } })
    if (!target) throw notFound('Member', input.userId)
    if (target.role === input.role) return { userId: input.userId, role: target.role }
    if (actorRole !== 'OWNER' && (target.role === 'OWNER' || input.role === 'OWNER')) {
      throw new DomainError('FORBIDDEN', 'Only an owner can grant or change the owner role')
    }
    if (target.role === 'OWNER' && (await countOwners(tx, input.projectId)) === 1) {
      throw new DomainError('BAD_REQUEST', 'A project needs at least one owner: make someone else owner first')
    }
    await tx.projectMember.update({ where: { projectId_userId: { projectId: input.projectId, userId: input.userId } }, data: { role: input.role } })
    await appendEvent(tx, {
      projectId: input.projectId,
      type: 'member.roleChanged',
      actorId,
      entityType: 'member',
      entityId: input.userId,
      data: { userId: input.userId, changes: { role: { from: target.role, to: input.role } } },
    })
    return { userId: input.userId, role: input.role }
  })
}

async function removeMembership(db: Db, actorId: string, projectId: string, userId: string, type: 'member.removed' | 'member.left') {
  return transaction(db, async (tx) => {
    await lockProject(tx, projectId)
    const target = await tx.projectMember.findUnique({ where: { projectId_userId: { projectId, userId } } })
    if (!target) throw notFound('Member', userId)
    if (target.role === 'OWNER' && (await countOwners(tx, projectId)) === 1) {
      throw new DomainError('BAD_REQUEST', 'The last owner cannot leave or be removed: make someone else owner first')
    }
    await tx.projectMember.delete({ where: { projectId_userId: { projectId, userId } } })
    // Tasks stay; they lose an assignee who can no longer see them, as logged, versioned writes.
    const assigned = await tx.task.findMany({ where: { projectId, assigneeId: userId, deletedAt: null }, select: { id: true } })
    for (const task of assigned) {
      const { version } = await tx.task.update({ where: { id: task.id }, data: { assigneeId: null, version: { increment: 1 }, updatedById: actorId }, select: { version: true } })
      await appendEvent(tx, { projectId, type: 'task.updated', actorId, entityType: 'task', entityId: task.id, data: { version, changes: { assigneeId: { from: userId, to: null } } } })
    }
    await appendEvent(tx, { projectId, type, actorId, entityType: 'member', entityId: userId, data: { userId, role: target.role } })
  })
}

export async function removeMember(db: Db, actorId: string, input: { projectId: string, userId: string }) {
  const actorRole = await requireRole(db, input.projectId, actorId, managerRoles)
  if (input.userId === actorId) return removeMembership(db, actorId, input.projectId, actorId, 'member.left')
  const target = await db.projectMember.findUnique({ where: { projectId_userId: input }, select: { role: true } })
  if (!target) throw notFound('Member', input.userId)
  if (target.role === 'OWNER' && actorRole !== 'OWNER') throw new DomainError('FORBIDDEN', 'Only an owner can remove an owner')
  return removeMembership(db, actorId, input.projectId, input.userId, 'member.removed')
}

export async function leaveProject(db: Db, userId: string, projectId: string) {
  await requireRole(db, projectId, userId)
  return removeMembership(db, userId, projectId, userId, 'member.left')
}
