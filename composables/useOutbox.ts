// Over 300 lines on purpose: the queue, its replay and the optimistic changes it undoes share one ordering rule.
import { useEventListener } from '@vueuse/core'
import { statusLabels } from '~~/shared/schemas/common'
import { outboxKey, type NewOutboxItem, type OutboxItem } from '~/stores/outbox'
import type { MoveSnapshot } from '~/stores/board'
import type { Comment, Task, TaskDetail, TaskPatchInput } from '~/utils/api'

/**
 * No answer from the API: the browser is offline, the request failed on the way (fetch's
 * TypeError, ofetch's FetchError without a response), or something other than the API answered
 * (a proxy's error page: a TRPCClientError without a tRPC error code).
 */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof TypeError) return true
  if (!(err instanceof Error)) return false
  if (err.name === 'FetchError') return !(err as { response?: unknown }).response
  if (err.name === 'TRPCClientError') return !errorCode(err) || isNetworkError(err.cause)
  return false
}

/**
 * The server (or the gateway in front of it) answered that it cannot serve right now, e.g. its
 * database is down (SERVICE_UNAVAILABLE, HTTP 503 with Retry-After): nothing is wrong with the
 * write itself, so it is kept and sent again later.
 */
export function isServerUnavailable(err: unknown): boolean {
  const code = errorCode(err)
  return code === 'SERVICE_UNAVAILABLE' || code === 'BAD_GATEWAY' || code === 'GATEWAY_TIMEOUT'
}

/** What the UI says while the server is unavailable (a status, not an error: nothing was lost). */
export const SERVER_UNAVAILABLE_TEXT = 'Server unavailable, retrying'

/** The server's hint (`details.retryAfterSeconds`, as sent with 429 and 503), in ms. */
function retryAfterMs(err: unknown): number {
  const details = (err as { data?: { details?: { retryAfterSeconds?: unknown } } } | null)?.data?.details
  return typeof details?.retryAfterSeconds === 'number' ? details.retryAfterSeconds * 1000 : 0
}

/** Answers worth trying again later: the write stays queued (the session ended: it goes through after signing in again). */
const retryLaterCodes = new Set(['TOO_MANY_REQUESTS', 'TIMEOUT', 'SERVICE_UNAVAILABLE', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT', 'CLIENT_CLOSED_REQUEST', 'UNAUTHORIZED'])

/** The card a queued create shows until the server has it; stable across reloads. */
export const pendingIdOf = (item: Pick<OutboxItem, 'id'>) => `pending:${item.id}`

export type RunOutcome<T> = { queued: false, value: T } | { queued: true, item: OutboxItem }

// One replay at a time per tab (and per user across tabs, through a Web Lock where there is one).
let running: Promise<void> | null = null
let retryTimer: ReturnType<typeof setTimeout> | undefined
let retryAttempt = 0

/**
 * Offline writes: `run` sends a write, or queues it when the browser is offline, when writes are
 * already waiting (order is kept), when the call fails without reaching the API, or when the server
 * is unavailable (503: "Server unavailable, retrying", then a retry after its Retry-After). `replay`
 * sends the queue in order, one at a time: a network failure or a 503 keeps the item and stops; a refusal
 * drops it, undoes its optimistic change and says why in a toast. `reapply` shows the queued
 * changes again on a freshly loaded board (after a reload).
 */
export function useOutbox() {
  const { $trpc } = useNuxtApp()
  const store = useOutboxStore()
  const board = useBoardStore()
  const realtime = useRealtimeStore()
  const projects = useProjectsStore()
  const auth = useAuthStore()
  const toast = useToast()

  const offline = () => import.meta.client && navigator.onLine === false

  /** Says once per outage that the server is unavailable and the queue will be retried. */
  function serverDown() {
    if (store.serverUnavailable) return
    store.serverUnavailable = true
    toast.info(`${SERVER_UNAVAILABLE_TEXT}: your changes are kept on this device and sent as soon as it answers again.`)
  }

  function queue(item: NewOutboxItem, failure?: unknown): OutboxItem {
    const first = store.size === 0
    const queued = store.enqueue(item)
    if (failure !== undefined && isServerUnavailable(failure)) {
      // The server just said it cannot take writes: ask again later, not at once.
      serverDown()
      retryLater(failure)
      return queued
    }
    if (first) toast.info('You are offline: your changes are kept on this device and sent when the connection is back.')
    if (!offline()) void replay()
    return queued
  }

  async function run<T>(item: NewOutboxItem, send: () => Promise<T>): Promise<RunOutcome<T>> {
    if (import.meta.client && (offline() || store.size > 0)) return { queued: true, item: queue(item) }
    try {
      return { queued: false, value: await send() }
    }
    catch (err) {
      if (import.meta.client && (isNetworkError(err) || isServerUnavailable(err))) return { queued: true, item: queue(item, err) }
      throw err
    }
  }

  // --- what the views call ------------------------------------------------------------------

  /** A queued create's card, under its stable pending id (the one `addPending` gave is per page load). */
  function placePending(item: Extract<OutboxItem, { kind: 'task.create' }>, placeholder?: Task) {
    const card = placeholder ?? board.addPending(item.input.projectId, item.input.status, item.input.title)
    board.remove(card.id)
    board.upsert({ ...card, id: pendingIdOf(item) })
  }

  /** A task with a patch applied, as the server would show it (the assignee from the project's members). */
  function patched<T extends Task>(task: T, patch: TaskPatchInput): T {
    const { assigneeId, ...fields } = patch
    const next: T = { ...task, ...fields }
    if (assigneeId !== undefined) {
      const member = assigneeId ? projects.membersById[assigneeId] : undefined
      next.assigneeId = assigneeId
      next.assignee = member ? { id: member.id, username: member.username, name: member.name } : null
    }
    return next
  }

  /** task.update from the panel: the server's copy, or (queued) the panel's copy with the patch applied. */
  async function updateTask(current: TaskDetail, patch: TaskPatchInput): Promise<TaskDetail> {
    const input = { id: current.id, baseVersion: current.version, patch }
    // A second offline edit of the same task joins the first: both were made on the same version.
    const last = import.meta.client && (offline() || store.size > 0) ? store.items.findLast(i => touches(i, current.id)) : undefined
    if (last?.kind === 'task.update') {
      store.replace({ ...last, input: { ...last.input, patch: { ...last.input.patch, ...patch } } })
      return patched(current, patch)
    }
    const outcome = await run({ kind: 'task.update', input, projectId: current.projectId, title: current.title }, () => $trpc.task.update.mutate(input))
    return outcome.queued ? patched(current, patch) : outcome.value
  }

  /** comment.create: the server's comment, or (queued) a placeholder `pending:` comment by the signed-in user. */
  async function addComment(input: { taskId: string, body: string }): Promise<Comment> {
    const outcome = await run({ kind: 'comment.create', input }, () => $trpc.comment.create.mutate(input))
    if (!outcome.queued) return outcome.value
    return queuedComment(outcome.item, auth.user)!
  }

  /** Shows a project's queued creates and moves on a board just loaded from the server. */
  function reapply(projectId: string) {
    for (const item of store.items) {
      if (item.kind === 'task.create' && item.input.projectId === projectId && !board.byId[pendingIdOf(item)]) placePending(item)
      else if (item.kind === 'task.move' && item.projectId === projectId && board.byId[item.input.id]) board.patch(item.input.id, item.to)
      else if (item.kind === 'task.update' && item.projectId === projectId && board.byId[item.input.id]) board.patch(item.input.id, patched(board.byId[item.input.id]!, item.input.patch))
    }
  }

  // --- replay ------------------------------------------------------------------------------

  function snapshotOf(item: Extract<OutboxItem, { kind: 'task.move' }>): MoveSnapshot | null {
    const current = board.byId[item.input.id]
    return current ? { id: item.input.id, before: { ...current, ...item.from }, applied: item.to } : null
  }

  /** Sends one item and applies the answer. */
  async function deliver(item: OutboxItem) {
    switch (item.kind) {
      case 'task.create': {
        const task = await $trpc.task.create.mutate(item.input)
        store.remove(item.id)
        board.remove(pendingIdOf(item))
        board.upsert(task)
        return
      }
      case 'task.move': {
        const saved = await $trpc.task.move.mutate(item.input)
        store.remove(item.id)
        const snapshot = snapshotOf(item)
        if (snapshot) board.confirmMove(snapshot, saved)
        return
      }
      case 'task.update': {
        const saved = await $trpc.task.update.mutate(item.input)
        store.remove(item.id)
        board.upsert(saved)
        return
      }
      case 'comment.create':
        await $trpc.comment.create.mutate(item.input)
        store.remove(item.id)
        // An open panel reloads its thread: the server's comment replaces the placeholder.
        realtime.commented(item.input.taskId)
    }
  }

  /** Undoes a refused item's optimistic change and says why. */
  async function refused(item: OutboxItem, err: unknown) {
    const why = errorMessage(err)
    switch (item.kind) {
      case 'task.create':
        board.remove(pendingIdOf(item))
        toast.error(`Could not add “${item.input.title}” (written while offline): ${why}`)
        return
      case 'task.move': {
        const snapshot = snapshotOf(item)
        if (snapshot) board.rollback(snapshot)
        toast.error(`Could not move “${item.title}” to ${statusLabels[item.to.status]} (done while offline): ${why}`)
        return
      }
      case 'task.update': {
        // Whatever the reason, the server's copy is what stands; a CONFLICT means someone else saved first.
        try {
          board.upsert(await $trpc.task.byId.query({ id: item.input.id }))
        }
        catch {
          // Gone or out of reach: its own event tells the board.
        }
        if (errorCode(err) === 'CONFLICT') toast.error(`“${item.title}” was changed by someone else while you were offline. Your offline edit was not saved; the current version is shown.`)
        else toast.error(`Could not save “${item.title}” (edited while offline): ${why}`)
        return
      }
      case 'comment.create':
        realtime.commented(item.input.taskId)
        toast.error(`Could not post your comment (written while offline): ${why}`)
    }
  }

  function retryLater(err?: unknown) {
    clearTimeout(retryTimer)
    const delay = Math.max(retryAfterMs(err), Math.min(60_000, 2_000 * 2 ** retryAttempt++))
    retryTimer = setTimeout(() => void replay(), delay)
  }

  async function drain() {
    for (;;) {
      if (offline()) return
      store.sync()
      const item = store.items[0]
      if (!item) break
      try {
        await deliver(item)
        store.serverUnavailable = false
      }
      catch (err) {
        if (isNetworkError(err) || retryLaterCodes.has(errorCode(err) ?? '')) {
          if (isServerUnavailable(err)) serverDown()
          if (errorCode(err) === 'UNAUTHORIZED') toast.error('Your session ended. Sign in again to send the changes waiting on this device.')
          else if (!offline()) retryLater(err)
          return
        }
        store.serverUnavailable = false
        store.remove(item.id)
        await refused(item, err)
      }
    }
    store.serverUnavailable = false
    retryAttempt = 0
    clearTimeout(retryTimer)
  }

  /** Sends the queue in order; resolves when it is empty or stopped by a network failure. */
  function replay(): Promise<void> {
    if (!import.meta.client || !store.userId) return Promise.resolve()
    if (running) return running
    const key = `tt-outbox:${store.userId}`
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
    const done = (async () => {
      if (locks) await locks.request(key, drain)
      else await drain()
    })().finally(() => {
      running = null
    })
    running = done
    return done
  }

  /** Items another tab sent or dropped: their placeholders here go (the live event brings the real thing). */
  function forget(gone: OutboxItem[]) {
    for (const item of gone) {
      if (item.kind === 'task.create') board.remove(pendingIdOf(item))
      if (item.kind === 'comment.create') realtime.commented(item.input.taskId)
    }
  }

  return { run, replay, reapply, placePending, updateTask, addComment, forget, size: computed(() => store.size) }
}

/** How a queued comment shows in its thread until it is sent: a `pending:` comment by the signed-in user. */
export function queuedComment(item: OutboxItem, me: { id: string, username: string, name: string } | null): Comment | null {
  if (item.kind !== 'comment.create') return null
  return {
    id: pendingIdOf(item),
    taskId: item.input.taskId,
    body: item.input.body,
    createdAt: new Date(item.queuedAt),
    author: { id: me?.id ?? '', username: me?.username ?? '', name: me?.name ?? 'You' },
  }
}

/** Whether a queued item writes to this task (a later edit must not overtake it). */
function touches(item: OutboxItem, taskId: string): boolean {
  return (item.kind === 'task.move' || item.kind === 'task.update') && item.input.id === taskId
}

/**
 * Wires the queue to the app (the realtime plugin calls it once): the signed-in user's queue,
 * changes made by other tabs, and a first replay. Returns the outbox for the plugin's own triggers.
 */
export function startOutbox() {
  const store = useOutboxStore()
  const auth = useAuthStore()
  const outbox = useOutbox()
  watch(() => auth.user?.id ?? null, (id) => {
    store.setUser(id)
    if (id) void outbox.replay()
  }, { immediate: true })
  useEventListener('storage', (event) => {
    if (store.userId && event.key === outboxKey(store.userId)) outbox.forget(store.sync())
  })
  return outbox
}
