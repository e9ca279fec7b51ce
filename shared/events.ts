/**
 * Events of a project's log (`ProjectEvent`), as they reach clients through `project.onEvent`.
 * Once logged, an event never changes: the server hands the same frozen object to every subscriber.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** Old and new value of each changed field. */
export type FieldChangesJson = Record<string, { from: JsonValue, to: JsonValue }>

/** The `data` of each event type. */
export interface ProjectEventDataMap {
  'project.created': { name: string, key: string }
  'project.updated': { changes: FieldChangesJson }
  'member.added': { userId: string, username: string, name: string, role: string }
  'member.roleChanged': { userId: string, changes: FieldChangesJson }
  'member.removed': { userId: string, role: string }
  'member.left': { userId: string, role: string }
  'task.created': { task: { [key: string]: JsonValue } }
  'task.updated': { version: number, changes: FieldChangesJson }
  'task.moved': { version: number, changes: FieldChangesJson }
  'task.deleted': { version: number, title: string }
  /** A deleted task back (undo): the whole task, as `task.created` has it. */
  'task.restored': { version: number, task: { [key: string]: JsonValue } }
  'comment.created': { taskId: string, body: string }
  'label.created': { name: string, color: string }
  'label.updated': { changes: FieldChangesJson }
  'label.deleted': { name: string, color: string }
}

export type ProjectEventType = keyof ProjectEventDataMap
export type ProjectEventEntity = 'task' | 'comment' | 'member' | 'project' | 'label'

/** One logged event; `seq` increases by exactly one per project, `tracked` ids are `String(seq)`. */
export interface ProjectEvent {
  id: string
  projectId: string
  seq: number
  type: string
  actorId: string | null
  entityType: ProjectEventEntity
  entityId: string
  data: JsonValue
  createdAt: Date
}

/** Narrows an event to its type, with `data` typed by the map. */
export type ProjectEventOf<T extends ProjectEventType> = Omit<ProjectEvent, 'type' | 'data'> & { type: T, data: ProjectEventDataMap[T] }

export function isEventOfType<T extends ProjectEventType>(event: ProjectEvent, type: T): event is ProjectEventOf<T> {
  return event.type === type
}

/** Any logged event as a union discriminated by `type`, so a `switch` narrows `data`. */
export type TypedProjectEvent = { [K in ProjectEventType]: ProjectEventOf<K> }[ProjectEventType]

/**
 * The event as {@link TypedProjectEvent}. Sound because the log is written only through the server's
 * typed `appendEvent`; an unknown type (from a newer server) matches no `case`.
 */
export function typedEvent(event: ProjectEvent): TypedProjectEvent {
  return event as TypedProjectEvent
}

/** Events after which the member named in `data.userId` no longer sees the project. */
export const membershipEndingEvents = ['member.removed', 'member.left'] as const satisfies readonly ProjectEventType[]

/**
 * A project event as `project.onEvent` sends it: plain JSON, so the superjson transformer adds no
 * metadata (`createdAt` is an ISO string), and without the previous value of long text fields
 * ({@link LONG_TEXT_FIELDS}: their `changes` entry has only `to`; a client keeps its own copy).
 * The log and the bus keep the whole event; `fromWireEvent` gives a client back a `ProjectEvent`.
 */
export type ProjectEventWire = Omit<ProjectEvent, 'createdAt'> & { createdAt: string }

/** Fields whose previous value live events leave out (docs/websocket.md, "Event frames"). */
export const LONG_TEXT_FIELDS: readonly string[] = ['description']

function slimChanges(data: JsonValue): JsonValue {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data
  const changes = data.changes
  if (!changes || typeof changes !== 'object' || Array.isArray(changes)) return data
  if (!LONG_TEXT_FIELDS.some(field => field in changes)) return data
  const slim: { [key: string]: JsonValue } = {}
  for (const [field, change] of Object.entries(changes)) {
    slim[field] = LONG_TEXT_FIELDS.includes(field) && change && typeof change === 'object' && !Array.isArray(change) ? { to: change.to ?? null } : change
  }
  return { ...data, changes: slim }
}

/** The event as `project.onEvent` sends it (see {@link ProjectEventWire}). */
export function toWireEvent(event: ProjectEvent): ProjectEventWire {
  return { ...event, data: slimChanges(event.data), createdAt: event.createdAt.toISOString() }
}

/** What a client makes of a received event: `createdAt` a Date again (long text fields stay without `from`). */
export function fromWireEvent(event: ProjectEventWire | ProjectEvent): ProjectEvent {
  return event.createdAt instanceof Date ? event as ProjectEvent : { ...event, createdAt: new Date(event.createdAt) }
}
