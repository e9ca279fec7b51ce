// Over 300 lines on purpose: every event type's wording (clauses, grouping, sentences) in one place, so a new field is worded once.
import { isEventOfType, type JsonValue, type ProjectEvent } from '~~/shared/events'
import { priorityLabels, roleLabels, statusLabels, type Priority, type Role, type TaskStatus } from '~~/shared/schemas/common'
import type { ActivityChange, ActivityItem, ActivityTarget } from '~~/shared/schemas/activity'
import type { ChangeActor } from '~~/shared/schemas/task'
import { formatDay } from '~/utils/format'

export type { ActivityChange, ActivityItem, ActivityTarget }
/** Someone who did something (null on an entry when their account is gone). */
export type ActivityActor = ChangeActor

/** Consecutive entries by one person about one target, close in time: shown as one sentence. */
export interface ActivityGroup {
  key: string
  actor: ActivityActor | null
  target: ActivityTarget
  /** Newest first, like the feed. */
  items: ActivityItem[]
  /** When the newest entry happened. */
  at: Date
}

/** A piece of a sentence: the actor, a link to a task, or plain text. */
export interface Segment {
  text: string
  kind?: 'actor' | 'target'
  taskId?: string
}

/** Names the feed can resolve at render time (members load after the feed, or change). */
export interface ActivityNames {
  member: (userId: string) => string | undefined
}

const MAX_TITLE = 60
const GROUP_WINDOW_MS = 10 * 60_000

const truncate = (text: string, max = MAX_TITLE) => (text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text)
const quote = (text: string) => `'${truncate(text)}'`
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

function listOf(values: string[]): string {
  if (values.length <= 1) return values.join('')
  return `${values.slice(0, -1).join(', ')} and ${values.at(-1)}`
}

/** A field's value as people read it: labels for enums, names for people, days for dates. */
export function formatFieldValue(field: string, value: unknown, names?: ActivityNames): string {
  if (value === null || value === undefined || value === '') {
    if (field === 'assigneeId') return 'nobody'
    if (field === 'priority') return priorityLabels.NONE
    return 'none'
  }
  switch (field) {
    case 'status': return statusLabels[value as TaskStatus] ?? String(value)
    case 'priority': return priorityLabels[value as Priority] ?? String(value)
    case 'role': return roleLabels[value as Role] ?? String(value)
    case 'assigneeId': return names?.member(String(value)) ?? 'someone'
    case 'dueDate': return formatDay(value instanceof Date ? value : String(value))
    case 'labels': return Array.isArray(value) && value.length ? value.map(String).join(', ') : 'none'
    case 'title':
    case 'name': return quote(String(value))
    default: return typeof value === 'string' ? truncate(value) : truncate(JSON.stringify(value))
  }
}

/** Builds segments from a template: strings stay text, segments keep their kind (the target link). */
function seg(strings: TemplateStringsArray, ...values: (string | Segment)[]): Segment[] {
  const out: Segment[] = []
  const push = (part: Segment) => {
    if (!part.text) return
    const last = out.at(-1)
    if (last && !last.kind && !part.kind) last.text += part.text
    else out.push({ ...part })
  }
  strings.forEach((text, i) => {
    push({ text })
    const value = values[i]
    if (value !== undefined) push(typeof value === 'string' ? { text: value } : value)
  })
  return out
}

/**
 * How a clause names its target: `ref` is the first mention (a link on the project feed, "this
 * task" in the task's own feed) or "it" afterwards; `implicit` lets clauses about a property leave
 * the target out ("changed priority from Low to High").
 */
interface TargetRef {
  ref: Segment
  /** The task key alone, for "renamed WEB-12 from … to …". */
  short: Segment
  implicit: boolean
}

type Clause = (t: TargetRef) => Segment[]

function memberName(target: ActivityTarget, names?: ActivityNames) {
  return names?.member(target.id) ?? target.title ?? 'someone'
}

/** Field changes of a task, one clause each (labels: what was added and removed). */
function taskChangeClauses(changes: ActivityChange[], names?: ActivityNames): Clause[] {
  const fmt = (field: string, v: unknown) => formatFieldValue(field, v, names)
  const hasStatus = changes.some(c => c.field === 'status')
  const clauses: Clause[] = []
  for (const { field, from, to } of changes) {
    if (same(from, to)) continue
    switch (field) {
      case 'status':
        clauses.push(t => seg`moved ${t.ref} to ${fmt('status', to)}`)
        break
      case 'position':
        if (!hasStatus) clauses.push(t => seg`reordered ${t.ref}`)
        break
      case 'title':
        clauses.push(t => (t.implicit
          ? seg`changed the title from ${fmt('title', from)} to ${fmt('title', to)}`
          : seg`renamed ${t.short} from ${fmt('title', from)} to ${fmt('title', to)}`))
        break
      case 'description':
        clauses.push(t => (t.implicit ? seg`edited the description` : seg`edited the description of ${t.ref}`))
        break
      case 'priority':
        clauses.push(t => (t.implicit
          ? seg`changed priority from ${fmt('priority', from)} to ${fmt('priority', to)}`
          : seg`changed the priority of ${t.ref} from ${fmt('priority', from)} to ${fmt('priority', to)}`))
        break
      case 'assigneeId':
        clauses.push(t => (to ? seg`assigned ${t.ref} to ${fmt('assigneeId', to)}` : seg`unassigned ${t.ref}`))
        break
      case 'dueDate':
        clauses.push(t => (to
          ? (t.implicit ? seg`set the due date to ${fmt('dueDate', to)}` : seg`set the due date of ${t.ref} to ${fmt('dueDate', to)}`)
          : (t.implicit ? seg`removed the due date` : seg`removed the due date of ${t.ref}`)))
        break
      case 'labels': {
        const before = Array.isArray(from) ? from.map(String) : []
        const after = Array.isArray(to) ? to.map(String) : []
        const added = after.filter(l => !before.includes(l))
        const removed = before.filter(l => !after.includes(l))
        const word = (list: string[]) => (list.length === 1 ? 'label' : 'labels')
        if (added.length) {
          clauses.push(t => (t.implicit
            ? seg`added the ${word(added)} ${listOf(added)}`
            : seg`added the ${word(added)} ${listOf(added)} to ${t.ref}`))
        }
        if (removed.length) {
          clauses.push(t => (t.implicit
            ? seg`removed the ${word(removed)} ${listOf(removed)}`
            : seg`removed the ${word(removed)} ${listOf(removed)} from ${t.ref}`))
        }
        break
      }
      default:
        clauses.push(t => (t.implicit ? seg`changed ${field}` : seg`changed ${field} of ${t.ref}`))
    }
  }
  return clauses
}

/**
 * Collapses the changes of a group's entries (oldest first) to one change per field, from its first
 * old value to its last new value: "changed priority from Low to Urgent", not twice.
 */
function collapseChanges(items: ActivityItem[]): ActivityChange[] {
  const byField = new Map<string, ActivityChange>()
  for (const item of items) {
    for (const change of item.changes) {
      const seen = byField.get(change.field)
      if (seen) seen.to = change.to
      else byField.set(change.field, { ...change })
    }
  }
  return [...byField.values()]
}

/** What a group did, as clauses in the order it happened; entries oldest first. */
function groupClauses(chronological: ActivityItem[], names?: ActivityNames, inTask = false): Clause[] {
  const clauses: Clause[] = []
  const first = chronological[0]!
  const target = first.target
  const types = new Set(chronological.map(i => i.type))
  const edits = chronological.filter(i => i.type === 'task.updated' || i.type === 'task.moved')
  const comments = chronological.filter(i => i.type === 'comment.created').length

  if (types.has('task.created')) clauses.push(t => seg`created ${t.ref}`)
  if (edits.length) clauses.push(...taskChangeClauses(collapseChanges(edits), names))
  if (comments === 1) {
    const body = chronological.find(i => i.type === 'comment.created')!.changes.find(c => c.field === 'body')?.to
    // In the task's own feed the comment is right above, in the thread.
    const excerpt = !inTask && typeof body === 'string' && body.trim() ? `: “${truncate(body.trim().replace(/\s+/g, ' '), 80)}”` : ''
    clauses.push(t => (t.implicit ? seg`commented${excerpt}` : seg`commented on ${t.ref}${excerpt}`))
  }
  else if (comments > 1) clauses.push(t => (t.implicit ? seg`left ${String(comments)} comments` : seg`left ${String(comments)} comments on ${t.ref}`))
  if (types.has('task.deleted')) clauses.push(t => seg`deleted ${t.ref}`)
  if (types.has('task.restored')) clauses.push(t => seg`restored ${t.ref}`)

  for (const item of chronological) {
    const who = memberName(item.target, names)
    const role = item.changes.find(c => c.field === 'role')
    switch (item.type) {
      case 'member.added':
        clauses.push(() => (item.actor?.id === item.target.id ? seg`joined the project` : seg`added ${who} to the project`))
        break
      case 'member.roleChanged':
        clauses.push(() => (role
          ? seg`changed ${who}'s role from ${formatFieldValue('role', role.from)} to ${formatFieldValue('role', role.to)}`
          : seg`changed ${who}'s role`))
        break
      case 'member.removed':
        clauses.push(() => seg`removed ${who} from the project`)
        break
      case 'member.left':
        clauses.push(() => seg`left the project`)
        break
      case 'label.created':
        clauses.push(() => seg`created the label ${quote(item.target.title ?? '')}`)
        break
      case 'label.updated':
        for (const change of item.changes) {
          if (change.field === 'name') clauses.push(() => seg`renamed the label ${quote(String(change.from))} to ${quote(String(change.to))}`)
          else if (change.field === 'color') clauses.push(() => seg`changed the colour of the label ${quote(item.target.title ?? '')} to ${String(change.to)}`)
        }
        break
      case 'label.deleted':
        clauses.push(() => seg`deleted the label ${quote(item.target.title ?? '')}`)
        break
      case 'project.created':
        clauses.push(() => seg`created the project`)
        break
      case 'project.updated':
        for (const change of item.changes) {
          if (change.field === 'name') clauses.push(() => seg`renamed the project from ${formatFieldValue('name', change.from)} to ${formatFieldValue('name', change.to)}`)
          else if (change.field === 'description') clauses.push(() => seg`changed the project description`)
          else clauses.push(() => seg`changed the project's ${change.field}`)
        }
        break
    }
  }
  if (!clauses.length) clauses.push(t => (target.kind === 'task' || target.kind === 'comment' ? seg`made changes to ${t.ref}` : seg`made changes`))
  return clauses
}

export interface SentenceOptions {
  /** The feed inside a task's panel: the task is implicit ("changed priority from Low to High"). */
  inTask?: boolean
  names?: ActivityNames
}

/** How a task target is named on the project feed: `WEB-12 'Fix login'`, linking to the task. */
function taskRef(target: ActivityTarget): { ref: Segment, short: Segment } {
  const taskId = target.taskId ?? (target.kind === 'task' ? target.id : undefined)
  const text = [target.key, target.title !== null ? quote(target.title) : null].filter(Boolean).join(' ') || 'a task'
  return {
    ref: { text, kind: 'target', taskId },
    short: { text: target.key ?? (target.title !== null ? quote(target.title) : 'a task'), kind: 'target', taskId },
  }
}

/** The actor's name as people see it now (a member's current name), else what the entry carried. */
export function actorName(actor: ActivityActor | null, names?: ActivityNames): string {
  if (!actor) return 'Someone'
  return names?.member(actor.id) ?? (actor.name || 'Someone')
}

/**
 * One sentence for a group: "Ben changed priority from Low to High", "Ana moved WEB-12 'Fix login'
 * to Done and changed priority from Low to High", "Dan added Ben to the project".
 */
export function groupSentence(group: ActivityGroup, options: SentenceOptions = {}): Segment[] {
  const chronological = [...group.items].reverse()
  const clauses = groupClauses(chronological, options.names, options.inTask)
  const named = taskRef(group.target)
  const first: TargetRef = options.inTask
    ? { ref: { text: 'this task' }, short: { text: 'this task' }, implicit: true }
    : { ...named, implicit: false }
  // In the task's own feed "it" would have nothing to point back to.
  const later: TargetRef = options.inTask ? first : { ref: { text: 'it' }, short: { text: 'it' }, implicit: true }

  const parts = clauses.map((clause, i) => clause(i === 0 ? first : later))
  const out: Segment[] = [{ text: actorName(group.actor, options.names), kind: 'actor' }]
  parts.forEach((part, i) => {
    const joiner = i === 0 ? ' ' : i === parts.length - 1 ? ' and ' : ', '
    out.push({ text: joiner }, ...part)
  })
  return out
}

/** The sentence of a single entry (as its own group). */
export function itemSentence(item: ActivityItem, options: SentenceOptions = {}): Segment[] {
  return groupSentence({ key: '', actor: item.actor, target: item.target, items: [item], at: item.at }, options)
}

export const sentenceText = (segments: Segment[]) => segments.map(s => s.text).join('')

/** What entries group by: a comment belongs to its task, so "edited and commented" is one line. */
function targetKey(target: ActivityTarget) {
  if (target.kind === 'task' || target.kind === 'comment') return `task:${target.taskId ?? target.id}`
  if (target.kind === 'project') return 'project'
  return `${target.kind}:${target.id}`
}

/**
 * Groups consecutive entries (newest first) by one actor about one target, as long as the group
 * spans at most `windowMs` (ten minutes by default). Someone else's entry in between ends a group.
 */
export function groupActivity(items: readonly ActivityItem[], windowMs = GROUP_WINDOW_MS): ActivityGroup[] {
  const groups: ActivityGroup[] = []
  for (const item of items) {
    const key = `${item.actor?.id ?? 'system'}|${targetKey(item.target)}`
    const last = groups.at(-1)
    if (last && last.key === key && last.at.getTime() - new Date(item.at).getTime() <= windowMs) {
      last.items.push(item)
      continue
    }
    groups.push({ key, actor: item.actor, target: item.target, items: [item], at: new Date(item.at) })
  }
  return groups
}

/** Merges two newest-first lists by seq, dropping duplicates (a live event the first page also had). */
export function mergeActivity(a: readonly ActivityItem[], b: readonly ActivityItem[]): ActivityItem[] {
  const bySeq = new Map<number, ActivityItem>()
  for (const item of [...a, ...b]) if (!bySeq.has(item.seq)) bySeq.set(item.seq, item)
  return [...bySeq.values()].sort((x, y) => y.seq - x.seq)
}

/** "just now", "2 min ago", "3 h ago", "yesterday", else the day. */
export function timeAgo(at: Date | string, now: Date = new Date()): string {
  const seconds = Math.round((now.getTime() - new Date(at).getTime()) / 1000)
  if (seconds < 45) return 'just now'
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.round(minutes / 60)
  if (hours < 24) return `${hours} h ago`
  if (hours < 48) return 'yesterday'
  return formatDay(at)
}

/** What the live feed needs to know to turn an event into an entry without asking the server. */
export interface EventLookup {
  member: (userId: string) => ActivityActor | undefined
  task: (taskId: string) => { title: string, key: string | null } | undefined
  projectKey: string | null
}

const jsonString = (value: JsonValue | undefined) => (typeof value === 'string' ? value : null)

/** A live project event as a feed entry, like `activity.list` would return it. */
export function eventToActivityItem(event: ProjectEvent, lookup: EventLookup): ActivityItem {
  const actor = event.actorId ? (lookup.member(event.actorId) ?? { id: event.actorId, username: '', name: '' }) : null
  const base = { seq: event.seq, at: new Date(event.createdAt), type: event.type, actor }
  const changesOf = (data: { changes: Record<string, { from: JsonValue, to: JsonValue }> }) =>
    Object.entries(data.changes).map(([field, { from, to }]) => ({ field, from, to }))
  const taskTarget = (taskId: string, kind: 'task' | 'comment', id: string, title: string | null, number?: JsonValue): ActivityTarget => {
    const known = lookup.task(taskId)
    const key = known?.key ?? (typeof number === 'number' && lookup.projectKey ? `${lookup.projectKey}-${number}` : null)
    return { kind, id, taskId, title: title ?? known?.title ?? null, key }
  }

  if (isEventOfType(event, 'task.created')) {
    return { ...base, target: taskTarget(event.entityId, 'task', event.entityId, jsonString(event.data.task.title), event.data.task.number), changes: [] }
  }
  if (isEventOfType(event, 'task.updated') || isEventOfType(event, 'task.moved')) {
    const title = jsonString(event.data.changes.title?.to)
    return { ...base, target: taskTarget(event.entityId, 'task', event.entityId, title), changes: changesOf(event.data) }
  }
  if (isEventOfType(event, 'task.restored')) {
    return { ...base, target: taskTarget(event.entityId, 'task', event.entityId, jsonString(event.data.task.title), event.data.task.number), changes: [] }
  }
  if (isEventOfType(event, 'task.deleted')) {
    return { ...base, target: taskTarget(event.entityId, 'task', event.entityId, event.data.title), changes: [] }
  }
  if (isEventOfType(event, 'comment.created')) {
    return { ...base, target: taskTarget(event.data.taskId, 'comment', event.entityId, null), changes: [{ field: 'body', from: null, to: event.data.body }] }
  }
  if (event.entityType === 'member' || event.type.startsWith('member.')) {
    const data = (event.data ?? {}) as { userId?: string, name?: string, role?: string, changes?: Record<string, { from: JsonValue, to: JsonValue }> }
    const userId = data.userId ?? event.entityId
    const title = data.name ?? lookup.member(userId)?.name ?? null
    // As activity.list has them: a member's arrival and departure are role changes from and to null.
    const role = data.role ?? null
    const changes = data.changes
      ? changesOf({ changes: data.changes })
      : event.type === 'member.added' ? [{ field: 'role', from: null, to: role }] : [{ field: 'role', from: role, to: null }]
    return { ...base, target: { kind: 'member', id: userId, taskId: null, title, key: null }, changes }
  }
  const data = (event.data ?? {}) as { name?: string, changes?: Record<string, { from: JsonValue, to: JsonValue }> }
  return {
    ...base,
    target: { kind: 'project', id: event.projectId, taskId: null, title: data.name ?? null, key: null },
    changes: data.changes ? changesOf({ changes: data.changes }) : [],
  }
}

/** Whether an entry belongs in a feed filtered to one task. */
export const isAboutTask = (item: ActivityItem, taskId: string) => item.target.taskId === taskId || (item.target.kind === 'task' && item.target.id === taskId)
