import { managerRoles, writerRoles } from '../../shared/schemas/common'
import type { LabelColor, LabelDto } from '../../shared/schemas/label'
import type { Prisma } from '../generated/prisma/client'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { requireRole } from './access'
import { DomainError, notFound } from './errors'
import { appendEvent, lockProject, transaction } from './events'

const labelSelect = { id: true, projectId: true, name: true, color: true } as const satisfies Prisma.LabelSelect

const toDto = (row: Prisma.LabelGetPayload<{ select: typeof labelSelect }>): LabelDto => ({ ...row, color: row.color as LabelColor })

export async function listLabels(db: Db, userId: string, projectId: string): Promise<LabelDto[]> {
  await requireRole(db, projectId, userId)
  const rows = await db.label.findMany({ where: { projectId }, select: labelSelect, orderBy: [{ name: 'asc' }, { id: 'asc' }] })
  return rows.map(toDto)
}

async function assertNameFree(tx: DbTx, projectId: string, name: string, exceptId?: string) {
  const taken = await tx.label.findFirst({ where: { projectId, name, ...(exceptId ? { id: { not: exceptId } } : {}) }, select: { id: true } })
  if (taken) throw new DomainError('CONFLICT', `A label named "${name}" already exists in project ${projectId}`, { field: 'name' })
}

/**
 * Writers (members) may create labels, so a chip typed while tagging a task gets a colour at once;
 * renaming, recolouring and deleting (which rewrite other people's tasks) is for owners and admins.
 */
export async function createLabel(db: Db, userId: string, input: { projectId: string, name: string, color: LabelColor }): Promise<LabelDto> {
  return transaction(db, async (tx) => {
    await requireRole(tx, input.projectId, userId, writerRoles)
    await lockProject(tx, input.projectId)
    await assertNameFree(tx, input.projectId, input.name)
    const label = toDto(await tx.label.create({ data: { id: newId(), ...input }, select: labelSelect }))
    await appendEvent(tx, {
      projectId: label.projectId,
      type: 'label.created',
      actorId: userId,
      entityType: 'label',
      entityId: label.id,
      data: { name: label.name, color: label.color },
    })
    return label
  })
}

async function loadLabelLocked(tx: DbTx, userId: string, id: string) {
  const found = await tx.label.findUnique({ where: { id }, select: { projectId: true } })
  if (!found) throw notFound('Label', id)
  const role = await requireRole(tx, found.projectId, userId).catch(() => {
    throw notFound('Label', id)
  })
  if (!managerRoles.includes(role)) throw new DomainError('FORBIDDEN', `Your role (${role}) cannot change label ${id}: ask an owner or admin`)
  await lockProject(tx, found.projectId)
  const label = await tx.label.findUnique({ where: { id }, select: labelSelect })
  if (!label) throw notFound('Label', id)
  return toDto(label)
}

/**
 * Rewrites the tasks carrying `from`: `to` takes its place (rename) or it goes (null, delete). Each
 * task changes like a task.update of its labels — version + 1 and a task.updated event — so open
 * boards, panels and conflict checks see the change through the usual path.
 */
async function relabelTasks(tx: DbTx, userId: string, projectId: string, from: string, to: string | null) {
  const tasks = await tx.task.findMany({
    where: { projectId, deletedAt: null, labels: { has: from } },
    select: { id: true, labels: true, version: true },
    orderBy: { number: 'asc' },
  })
  for (const task of tasks) {
    const labels = [...new Set(task.labels.flatMap(l => (l === from ? (to === null ? [] : [to]) : [l])))]
    const version = task.version + 1
    await tx.task.update({ where: { id: task.id }, data: { labels, version, updatedById: userId } })
    await appendEvent(tx, {
      projectId,
      type: 'task.updated',
      actorId: userId,
      entityType: 'task',
      entityId: task.id,
      data: { version, changes: { labels: { from: task.labels, to: labels } } },
    })
  }
  return tasks.length
}

export async function updateLabel(db: Db, userId: string, input: { id: string, patch: { name?: string, color?: LabelColor } }): Promise<LabelDto> {
  return transaction(db, async (tx) => {
    const label = await loadLabelLocked(tx, userId, input.id)
    const changes: Record<string, { from: string, to: string }> = {}
    if (input.patch.name !== undefined && input.patch.name !== label.name) {
      await assertNameFree(tx, label.projectId, input.patch.name, label.id)
      changes.name = { from: label.name, to: input.patch.name }
    }
    if (input.patch.color !== undefined && input.patch.color !== label.color) changes.color = { from: label.color, to: input.patch.color }
    if (!Object.keys(changes).length) return label
    const updated = toDto(await tx.label.update({
      where: { id: label.id },
      data: { name: changes.name?.to, color: changes.color?.to },
      select: labelSelect,
    }))
    await appendEvent(tx, {
      projectId: label.projectId,
      type: 'label.updated',
      actorId: userId,
      entityType: 'label',
      entityId: label.id,
      data: { changes },
    })
    if (changes.name) await relabelTasks(tx, userId, label.projectId, changes.name.from, changes.name.to)
    return updated
  })
}

/** Deletes a label and takes it off every task that carries it. */
export async function deleteLabel(db: Db, userId: string, id: string) {
  return transaction(db, async (tx) => {
    const label = await loadLabelLocked(tx, userId, id)
    await tx.label.delete({ where: { id } })
    await appendEvent(tx, {
      projectId: label.projectId,
      type: 'label.deleted',
      actorId: userId,
      entityType: 'label',
      entityId: id,
      data: { name: label.name, color: label.color },
    })
    const tasks = await relabelTasks(tx, userId, label.projectId, label.name, null)
    return { id, projectId: label.projectId, tasks }
  })
}
