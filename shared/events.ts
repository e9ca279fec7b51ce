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
  'comment.created': { taskId: string, body: string }
}

export type ProjectEventType = keyof ProjectEventDataMap
export type ProjectEventEntity = 'task' | 'comment' | 'member' | 'project'

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

/** Events after which the member named in `data.userId` no longer sees the project. */
export const membershipEndingEvents = ['member.removed', 'member.left'] as const satisfies readonly ProjectEventType[]
