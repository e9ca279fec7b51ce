import type { FieldChangesJson, JsonValue, ProjectEvent, ProjectEventDataMap, ProjectEventEntity, ProjectEventOf, ProjectEventType } from '../../shared/events'
import { Prisma } from '../generated/prisma/client'
import { notifyCommitted } from '../notifications/notifier'
import { useEventBus } from '../realtime/bus'
import { eventMetrics } from '../realtime/eventMetrics'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { DomainError } from './errors'
import { logger } from '../utils/logger'

export type FieldChanges = Record<string, { from: unknown, to: unknown }>

/** One event to log, its `data` typed by its `type` ({@link ProjectEventDataMap}): a wrong payload is a compile error. */
export type AppendEventInput<T extends ProjectEventType = ProjectEventType> = {
  [K in T]: {
    projectId: string
    type: K
    actorId: string | null
    entityType: ProjectEventEntity
    entityId: string
    data: ProjectEventDataMap[K]
  }
}[T]

/** Field changes as the log stores them: plain JSON (dates become ISO strings, `undefined` is dropped). */
export function jsonChanges(changes: FieldChanges): FieldChangesJson {
  return JSON.parse(JSON.stringify(changes)) as FieldChangesJson
}

/** A value as the log stores it (plain JSON). */
export function toJson<T>(value: T): { [key: string]: JsonValue } {
  return JSON.parse(JSON.stringify(value)) as { [key: string]: JsonValue }
}

/**
 * Takes the project's row lock for the rest of the transaction. Writes in a project take it first,
 * so they serialize in one order (no deadlocks) and a card's place is computed on the current column:
 * two cards dropped into a column at once would otherwise get the same position.
 */
export async function lockProject(tx: DbTx, projectId: string) {
  await tx.$queryRaw`SELECT 1 FROM "Project" WHERE "id" = ${projectId} FOR NO KEY UPDATE`
}

export const projectEventSelect = {
  id: true,
  projectId: true,
  seq: true,
  type: true,
  actorId: true,
  entityType: true,
  entityId: true,
  data: true,
  createdAt: true,
} as const satisfies Prisma.ProjectEventSelect

type EventRow = Prisma.ProjectEventGetPayload<{ select: typeof projectEventSelect }>

/** A log row as clients receive it (the column types are wider than what appendEvent writes). */
export function toProjectEvent(row: EventRow): ProjectEvent {
  return { ...row, entityType: row.entityType as ProjectEvent['entityType'], data: row.data as ProjectEvent['data'] }
}

/** Events appended by each open `transaction()`, keyed by its transaction client. */
const pendingEvents = new WeakMap<DbTx, ProjectEvent[]>()

/**
 * `db.$transaction(fn)` that publishes the events `fn` appended on the bus once the transaction has
 * committed (never for one that rolled back). Publishing is deferred to a later tick, so the caller's
 * answer never waits for delivery to subscribers.
 */
export async function transaction<T>(db: Db, fn: (tx: DbTx) => Promise<T>): Promise<T> {
  let appended: ProjectEvent[] = []
  const result = await db.$transaction(async (tx) => {
    // A retried callback starts over: only the events of the attempt that commits count.
    appended = []
    pendingEvents.set(tx, appended)
    return fn(tx)
  })
  if (appended.length) {
    publishLater(appended)
    notifyCommitted(db, appended)
  }
  return result
}

function publishLater(events: ProjectEvent[]) {
  setImmediate(() => {
    const bus = useEventBus()
    for (const event of events) {
      try {
        bus.publish(event)
        eventMetrics.published++
      }
      catch (error) {
        // Subscribers heal a lost event from the log; the write itself succeeded.
        logger.error('publishing an event failed', { projectId: event.projectId, seq: event.seq, message: (error as Error).message })
      }
    }
  })
}

/**
 * Appends to the project's event log inside the caller's transaction. Incrementing the project's
 * counter row takes its row lock, so concurrent writers in one project get seq n, n+1, … with no gaps.
 * Inside `transaction()`, the event is published after commit.
 */
export async function appendEvent<T extends ProjectEventType>(tx: DbTx, input: AppendEventInput<T>): Promise<ProjectEventOf<T>> {
  const event = await writeWithEvent(tx, null, input)
  if (!event) throw new DomainError('NOT_FOUND', `Project ${input.projectId} not found`)
  return event
}

/**
 * appendEvent and the write it records in one statement: `write` (an `UPDATE … RETURNING`) runs
 * first, and the event is logged only if it changed a row. Null when it changed none (nothing is
 * written or logged), or without a write when the project does not exist.
 */
export async function writeWithEvent<T extends ProjectEventType>(tx: DbTx, write: Prisma.Sql | null, input: AppendEventInput<T>): Promise<ProjectEventOf<T> | null> {
  // The project's next seq and the log row (and the write, if any) in one statement: a write holds
  // its project's row lock until it commits (writes of a project are serialized), so every round
  // trip under it counts. "updatedAt" is set as Prisma's @updatedAt would.
  const [row] = await tx.$queryRaw<EventRow[]>`
    WITH ${write ? Prisma.sql`written AS (${write}),` : Prisma.empty} next AS (
      UPDATE "Project" SET "eventSeq" = "eventSeq" + 1, "updatedAt" = ${new Date()}
      WHERE "id" = ${input.projectId} ${write ? Prisma.sql`AND EXISTS (SELECT 1 FROM written)` : Prisma.empty}
      RETURNING "eventSeq"
    )
    INSERT INTO "ProjectEvent" ("id", "projectId", "seq", "type", "actorId", "entityType", "entityId", "data")
    SELECT ${newId()}, ${input.projectId}, next."eventSeq", ${input.type}, ${input.actorId ?? null}, ${input.entityType}, ${input.entityId}, ${JSON.stringify(input.data)}::jsonb
    FROM next
    RETURNING "id", "projectId", "seq", "type", "actorId", "entityType", "entityId", "data", "createdAt"`
  if (!row) return null
  const event = toProjectEvent(row) as ProjectEventOf<T>
  const pending = pendingEvents.get(tx)
  if (pending) pending.push(event)
  else logger.warn('appendEvent outside transaction(): the event is logged but not published', { projectId: input.projectId, type: input.type })
  return event
}

/** Logged events of a project with `after < seq < before` (before = unbounded when null), oldest first. */
export async function readEvents(db: DbTx, projectId: string, after: number, before: number | null, limit = 500): Promise<ProjectEvent[]> {
  const rows = await db.projectEvent.findMany({
    where: { projectId, seq: before === null ? { gt: after } : { gt: after, lt: before } },
    orderBy: { seq: 'asc' },
    take: limit,
    select: projectEventSelect,
  })
  return rows.map(toProjectEvent)
}

/** Only the fields whose value really changes, with old and new values (dates compared by time). */
export function diffFields<T extends Record<string, unknown>>(before: T, patch: Partial<T>): FieldChanges {
  const changes: FieldChanges = {}
  for (const [key, to] of Object.entries(patch)) {
    if (to === undefined) continue
    const from = before[key]
    if (!sameValue(from, to)) changes[key] = { from, to }
  }
  return changes
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i])
  return a === b
}
