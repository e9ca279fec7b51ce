import type { z } from 'zod'
import type { presenceOnProjectInput, presenceSetStatusInput, presenceTypingInput, presenceUpdateInput } from '../../shared/schemas/presence'
import { connectionOf } from '../realtime/connection'
import { supportsDirectFanout } from '../realtime/fanout'
import { DomainError } from '../services/errors'
import type { Db } from '../utils/db'
import { usePresenceHub, type PresenceMessage } from './hub'
import type { PresenceStatus } from './store'
import { openPresenceStream } from './stream'
import { requirePresenceTask } from './taskCheck'

/** A procedure's context as presence needs it: the database, the signed-in user, and the socket connection it carries. */
interface PresenceContext {
  db: Db
  user: { id: string, username: string, name: string }
}

const toDb = { available: 'AVAILABLE', away: 'AWAY', dnd: 'DND' } as const
const fromDb = { AVAILABLE: 'available', AWAY: 'away', DND: 'dnd' } as const

/** Presence is per connection (tab): only over the WebSocket. */
function socketConnection(ctx: object): string {
  const connId = connectionOf(ctx)
  if (!connId) throw new DomainError('BAD_REQUEST', 'Presence is per connection: call it over the WebSocket (/api/trpc-ws)')
  return connId
}

export async function chosenStatus(db: Db, userId: string): Promise<PresenceStatus> {
  const { status } = await db.user.findUniqueOrThrow({ where: { id: userId }, select: { status: true } })
  return fromDb[status]
}

/** `presence.onProject`: see {@link openPresenceStream}. */
export async function onProject(ctx: PresenceContext, input: z.infer<typeof presenceOnProjectInput>, signal: AbortSignal | undefined): Promise<AsyncGenerator<PresenceMessage, void, unknown>> {
  const connId = socketConnection(ctx)
  const { id, username, name } = ctx.user
  const user = { id, username, name, status: await chosenStatus(ctx.db, id) }
  return openPresenceStream(ctx.db, connId, input.projectId, user, signal, { direct: supportsDirectFanout(ctx) })
}

/** `presence.update`: joined first (a member), then the task: a task of another project is NOT_FOUND, as elsewhere. */
export async function updatePresence(ctx: PresenceContext, input: z.infer<typeof presenceUpdateInput>) {
  const { projectId, ...patch } = input
  const connId = socketConnection(ctx)
  const hub = usePresenceHub()
  hub.assertJoined(connId, projectId)
  if (patch.taskId) await requirePresenceTask(ctx.db, projectId, patch.taskId)
  await hub.update(connId, projectId, patch)
  return { ok: true }
}

/** `presence.typing`. */
export async function typing(ctx: PresenceContext, input: z.infer<typeof presenceTypingInput>) {
  const connId = socketConnection(ctx)
  const hub = usePresenceHub()
  hub.assertJoined(connId, input.projectId)
  await requirePresenceTask(ctx.db, input.projectId, input.taskId)
  await hub.typing(connId, input.projectId, input.taskId, input.field)
  return { ok: true }
}

/** `presence.setStatus`: for all the user's tabs and projects, kept across sessions. */
export async function setStatus(db: Db, userId: string, input: z.infer<typeof presenceSetStatusInput>) {
  await db.user.update({ where: { id: userId }, data: { status: toDb[input.status] } })
  await usePresenceHub().setStatus(userId, input.status)
  return { status: input.status }
}
