import type { z } from 'zod'
import type { DescriptionMessage, DescriptionPushInput, descriptionSubscribeInput } from '../../shared/schemas/description'
import { useEventBus, type EventBus } from '../realtime/bus'
import { noLog, ResumableStream } from '../realtime/resumableStream'
import { notFound } from '../services/errors'
import type { Db } from '../utils/db'
import { fromBase64, parseStateVector } from './descriptionDoc'
import { useDescriptionHub, type DescriptionHub } from './descriptionHub'

/** Document messages are not numbered and never dropped for a slow reader (Yjs needs every update). */
const LIMITS = { capacity: Number.POSITIVE_INFINITY, batch: 0 }

/**
 * NOT_FOUND unless `userId` may read the task (a member of its project; the task not deleted), before
 * a stream starts; the task's project and its event seq then (where the stream's membership watch starts).
 */
async function checkRead(db: Db, userId: string, taskId: string): Promise<{ projectId: string, eventSeq: number }> {
  const task = await db.task.findUnique({ where: { id: taskId }, select: { projectId: true, deletedAt: true, project: { select: { eventSeq: true } } } })
  if (!task || task.deletedAt) throw notFound('Task', taskId)
  const member = await db.projectMember.findUnique({ where: { projectId_userId: { projectId: task.projectId, userId } }, select: { role: true } })
  if (!member) throw notFound('Task', taskId)
  return { projectId: task.projectId, eventSeq: task.project.eventSeq }
}

/**
 * `description.onDoc`: the task's document for a member — first `sync` (what the client lacks
 * against its state vector), then `update` and `awareness` messages from every tab on every instance.
 * Refused before the stream starts (NOT_FOUND, a bad state vector). Ends when aborted, when the task
 * is deleted, or when the user leaves the project — seen on the bus, or, when the bus lost that
 * message, in the log at the next event that shows a gap (see `MembershipWatch`).
 */
export async function openDescriptionStream(
  db: Db,
  userId: string,
  input: z.infer<typeof descriptionSubscribeInput>,
  signal: AbortSignal | undefined,
  options: { hub?: DescriptionHub, bus?: EventBus } = {},
): Promise<AsyncGenerator<DescriptionMessage, void, unknown>> {
  const { taskId } = input
  const { projectId, eventSeq } = await checkRead(db, userId, taskId)
  const stateVector = input.stateVector ? parseStateVector(input.stateVector) : undefined
  const stream = new ResumableStream(noLog<DescriptionMessage>(), LIMITS, signal)
  // Events committed since the read above show as a gap at the next one, and are checked in the log.
  stream.watchMembership(db, options.bus ?? useEventBus(), projectId, userId, { type: 'task.deleted', entityId: taskId }).from(eventSeq)
  return documentMessages(stream, options.hub ?? useDescriptionHub(), db, userId, taskId, stateVector)
}

async function* documentMessages(stream: ResumableStream<DescriptionMessage>, hub: DescriptionHub, db: Db, userId: string, taskId: string, stateVector: Uint8Array | undefined) {
  let close: (() => Promise<void>) | null = null
  try {
    const opened = await hub.open(db, userId, taskId, stateVector, message => stream.push(message))
    close = opened.close
    yield opened.first
    yield* stream.live()
  }
  finally {
    stream.close()
    await close?.()
  }
}

/** `description.push`: a Yjs update (members; viewers get FORBIDDEN) and/or this tab's awareness; answers once the update is stored. */
export async function pushToDescription(db: Db, userId: string, input: DescriptionPushInput, hub: DescriptionHub = useDescriptionHub()) {
  if (input.update) await hub.applyUpdate(db, userId, input.taskId, fromBase64(input.update))
  if (input.awareness) await hub.awareness(db, userId, input.taskId, fromBase64(input.awareness))
  return { ok: true }
}
