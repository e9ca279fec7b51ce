import { isEventOfType, type ProjectEvent } from '~~/shared/events'
import { statusLabels, type TaskStatus } from '~~/shared/schemas/common'
import type { Clock } from '~/composables/useIdle'

export interface AnnouncementContext {
  /** The signed-in user: their own changes are not read back to them. */
  selfId: string | null
  memberName: (userId: string) => string | undefined
  /** "TT-4" for a task on the board, before the event is applied (a deleted task still has it). */
  taskRef: (taskId: string) => string | undefined
  projectKey: string | undefined
  now?: Date
}

/** Events older than this are a catch-up after a reconnect: nothing to read out. */
const MAX_AGE_MS = 2 * 60_000

const fieldNames: Record<string, string> = {
  title: 'title', description: 'description', priority: 'priority', assigneeId: 'assignee',
  dueDate: 'due date', labels: 'labels',
}

function list(words: string[]) {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`
}

/**
 * What a screen reader hears about a change someone else made ("Ann moved TT-4 to Done", "Ann
 * commented on TT-4"), or null: the user's own change, an old event replayed on catch-up, or
 * nothing a person would notice (a reorder within a column, member and project events, which
 * have their own toasts).
 */
export function liveAnnouncementText(event: ProjectEvent, ctx: AnnouncementContext): string | null {
  if (event.actorId && event.actorId === ctx.selfId) return null
  const now = ctx.now ?? new Date()
  if (now.getTime() - new Date(event.createdAt).getTime() > MAX_AGE_MS) return null
  const who = (event.actorId && ctx.memberName(event.actorId)) || 'Someone'

  if (isEventOfType(event, 'task.created')) {
    const { number, title } = event.data.task
    const ref = ctx.projectKey && typeof number === 'number' ? `${ctx.projectKey}-${number}` : 'a task'
    return typeof title === 'string' ? `${who} added ${ref}: ${title}` : `${who} added ${ref}`
  }
  if (isEventOfType(event, 'comment.created')) {
    return `${who} commented on ${ctx.taskRef(event.data.taskId) ?? 'a task'}`
  }
  const ref = ctx.taskRef(event.entityId) ?? 'a task'
  if (isEventOfType(event, 'task.deleted')) return `${who} deleted ${ref}: ${event.data.title}`
  if (!isEventOfType(event, 'task.updated') && !isEventOfType(event, 'task.moved')) return null

  const { status, ...others } = event.data.changes
  const changed = Object.keys(others).map(f => fieldNames[f]).filter((f): f is string => !!f)
  const parts: string[] = []
  if (status && status.from !== status.to) parts.push(`moved ${ref} to ${statusLabels[status.to as TaskStatus] ?? String(status.to)}`)
  if (changed.length) parts.push(parts.length ? `changed its ${list(changed)}` : `changed the ${list(changed)} of ${ref}`)
  return parts.length ? `${who} ${parts.join(' and ')}` : null
}

export interface Announcer {
  /** Queues `text`; said at once when the region has been quiet for a while, else with the next batch. */
  say: (text: string) => void
  dispose: () => void
}

/**
 * Rate-limits what a polite live region says: at most one announcement per `intervalMs`; what
 * arrives in between is said together at the end of the interval, the first `maxItems` in full and
 * the rest counted ("and 5 more changes"), so a burst (a bulk move, a catch-up) is one short sentence.
 */
export function createAnnouncer(speak: (text: string) => void, clock: Clock, { intervalMs = 2_000, maxItems = 2 } = {}): Announcer {
  let queue: string[] = []
  let lastAt = Number.NEGATIVE_INFINITY
  let timer: unknown = null

  function flush() {
    timer = null
    if (!queue.length) return
    const shown = queue.slice(0, maxItems)
    const rest = queue.length - shown.length
    queue = []
    lastAt = clock.now()
    speak(`${shown.join('. ')}${rest ? `. And ${rest} more ${rest === 1 ? 'change' : 'changes'}` : ''}.`)
  }

  return {
    say(text) {
      queue.push(text)
      if (timer !== null) return
      const wait = lastAt + intervalMs - clock.now()
      if (wait <= 0) flush()
      else timer = clock.setTimeout(flush, wait)
    },
    dispose() {
      if (timer !== null) clock.clearTimeout(timer)
      timer = null
      queue = []
    },
  }
}
