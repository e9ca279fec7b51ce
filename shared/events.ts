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

/**
 * The compact wire form (`project.onEvent({ …, wire: 2 })`, docs/decisions/0020-compact-event-frames.md):
 * `[type, actorId, entityId, data, createdAt ms, entityType?]`. Left out because the client knows them:
 * `projectId` (its input), `seq` (the tracked id), the event row's `id`, and `entityType` when it is the
 * type's prefix (`task.moved` → `task`). `type` is a short code of {@link EVENT_TYPE_CODES} (an unknown
 * type travels whole). In `data`, each `changes` entry is `[from, to]`, a long text field only its new
 * value, and `task.updated` / `task.moved` data (`{ version, changes }`) is `[version, changes]`.
 */
export type ProjectEventCompact = [type: string, actorId: string | null, entityId: string, data: JsonValue, createdAt: number, entityType?: ProjectEventEntity]

/** What `project.onEvent` may send: the named form (default, stock clients) or the compact one (`wire: 2`). */
export type ProjectEventOnWire = ProjectEventWire | ProjectEventCompact

/** Wire form versions of `project.onEvent` (its `wire` input). */
export const EVENT_WIRE_NAMED = 1
export const EVENT_WIRE_COMPACT = 2
export type EventWireVersion = typeof EVENT_WIRE_NAMED | typeof EVENT_WIRE_COMPACT

/** Short codes of event types in the compact form. Append only: a code never changes meaning. */
export const EVENT_TYPE_CODES: Readonly<Record<ProjectEventType, string>> = {
  'project.created': 'pc',
  'project.updated': 'pu',
  'member.added': 'ma',
  'member.roleChanged': 'mr',
  'member.removed': 'mx',
  'member.left': 'ml',
  'task.created': 'tc',
  'task.updated': 'tu',
  'task.moved': 'tm',
  'task.deleted': 'td',
  'task.restored': 'tr',
  'comment.created': 'cc',
  'label.created': 'lc',
  'label.updated': 'lu',
  'label.deleted': 'ld',
}
const TYPES_BY_CODE: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(EVENT_TYPE_CODES).map(([type, code]) => [code, type]))
/** Types whose data is `{ version, changes }`, sent as `[version, changes]`. */
const VERSIONED_CHANGES: readonly string[] = ['task.updated', 'task.moved']

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return !!value && typeof value === 'object' && !Array.isArray(value)
}

function compactChanges(changes: { [key: string]: JsonValue }): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {}
  for (const [field, change] of Object.entries(changes)) {
    const { from, to } = isObject(change) ? change : {} as { from?: JsonValue, to?: JsonValue }
    out[field] = LONG_TEXT_FIELDS.includes(field) ? to ?? null : [from ?? null, to ?? null]
  }
  return out
}

function expandChanges(changes: JsonValue): FieldChangesJson {
  const out: FieldChangesJson = {}
  if (!isObject(changes)) return out
  for (const [field, change] of Object.entries(changes)) {
    // Long text fields come without their previous value (`from` stays absent, as in the named form).
    const pair = Array.isArray(change) ? change : []
    out[field] = LONG_TEXT_FIELDS.includes(field) ? { to: change } as FieldChangesJson[string] : { from: pair[0] ?? null, to: pair[1] ?? null }
  }
  return out
}

/** The event in the compact wire form (see {@link ProjectEventCompact}). */
export function toCompactEvent(event: ProjectEvent): ProjectEventCompact {
  const { data, type } = event
  let compact: JsonValue = data
  if (isObject(data) && isObject(data.changes)) {
    const changes = compactChanges(data.changes)
    const keys = Object.keys(data)
    compact = VERSIONED_CHANGES.includes(type) && keys.length === 2 && typeof data.version === 'number'
      ? [data.version, changes]
      : { ...data, changes }
  }
  const code = EVENT_TYPE_CODES[type as ProjectEventType] ?? type
  const out: ProjectEventCompact = [code, event.actorId, event.entityId, compact, event.createdAt.getTime()]
  if (event.entityType !== type.split('.')[0]) out.push(event.entityType)
  return out
}

function fromCompactEvent(event: ProjectEventCompact, projectId: string, id: string): ProjectEvent {
  const [code, actorId, entityId, compact, createdAt, entityType] = event
  const type = TYPES_BY_CODE[code] ?? code
  let data: JsonValue = compact
  if (Array.isArray(compact) && VERSIONED_CHANGES.includes(type)) data = { version: compact[0] ?? null, changes: expandChanges(compact[1] ?? null) }
  else if (isObject(compact) && isObject(compact.changes)) data = { ...compact, changes: expandChanges(compact.changes) }
  return {
    id: '',
    projectId,
    seq: Number(id),
    type,
    actorId,
    entityType: entityType ?? type.split('.')[0] as ProjectEventEntity,
    entityId,
    data,
    createdAt: new Date(createdAt),
  }
}

/**
 * What a client makes of a received event, whatever its form: `createdAt` a Date again (long text
 * fields stay without `from`). The compact form (an array) needs the subscription's `projectId` and
 * the tracked `id` (the seq); its `id` (the event row's) is ''.
 */
export function fromWireEvent(event: ProjectEventOnWire | ProjectEvent, projectId?: string, id?: string): ProjectEvent {
  if (Array.isArray(event)) {
    if (projectId === undefined || id === undefined) throw new Error('a compact event needs its projectId and tracked id')
    return fromCompactEvent(event, projectId, id)
  }
  return event.createdAt instanceof Date ? event as ProjectEvent : { ...event, createdAt: new Date(event.createdAt) }
}
