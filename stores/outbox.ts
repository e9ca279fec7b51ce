import superjson from 'superjson'
import type { TaskStatus } from '~~/shared/schemas/common'
import type { RouterInputs } from '~/utils/api'

interface Queued {
  /** Unique per item; also names the placeholder a queued create or comment shows (`pending:<id>`). */
  id: string
  queuedAt: number
}

/** A write made while offline, waiting to be sent; carries what the UI needs to show or undo it. */
export type OutboxItem = Queued & (
  | { kind: 'task.create', input: RouterInputs['task']['create'] & { status: TaskStatus } }
  | {
    kind: 'task.move'
    input: RouterInputs['task']['move'] & { status: TaskStatus }
    projectId: string
    title: string
    /** The card's place before and after the move, to show it again after a reload or undo it. */
    from: { status: TaskStatus, position: string }
    to: { status: TaskStatus, position: string }
  }
  | { kind: 'task.update', input: RouterInputs['task']['update'], projectId: string, title: string }
  | { kind: 'comment.create', input: RouterInputs['comment']['create'] }
)

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
export type NewOutboxItem = DistributiveOmit<OutboxItem, 'id' | 'queuedAt'>

const KEY_PREFIX = 'tt:outbox:'
/** Per user: another account signed in on the same browser never replays someone else's writes. */
export const outboxKey = (userId: string) => `${KEY_PREFIX}${userId}`

function storage(): Storage | null {
  try {
    return import.meta.client ? window.localStorage : null
  }
  catch {
    // Storage disabled (privacy settings): the queue lives in memory for this tab only.
    return null
  }
}

function read(userId: string): OutboxItem[] | null {
  const raw = storage()?.getItem(outboxKey(userId))
  if (raw == null) return null
  try {
    const items = superjson.parse<unknown>(raw)
    return Array.isArray(items) ? items.filter((i): i is OutboxItem => !!i && typeof i === 'object' && 'kind' in i && 'id' in i) : []
  }
  catch {
    return []
  }
}

let counter = 0
const newItemId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${++counter}`

/**
 * Writes made while offline, in the order they were made, kept in localStorage under the signed-in
 * user's key (superjson, so dates survive). Storage is the source of truth when another tab of the
 * same user changes the queue: every change re-reads it first and `sync()` follows its `storage`
 * events. Sending and undoing are `useOutbox`'s job.
 */
export const useOutboxStore = defineStore('outbox', () => {
  const userId = ref<string | null>(null)
  const items = ref<OutboxItem[]>([])
  const size = computed(() => items.value.length)
  /** The server answered but cannot serve writes right now (503): the queue waits and is retried. */
  const serverUnavailable = ref(false)

  function write() {
    const s = storage()
    if (!s || !userId.value) return
    try {
      if (items.value.length) s.setItem(outboxKey(userId.value), superjson.stringify(items.value))
      else s.removeItem(outboxKey(userId.value))
    }
    catch {
      // Quota exceeded: the queue still lives in memory for this tab.
    }
  }

  /** Re-reads the user's queue (another tab may have added or sent items); returns the items that left it. */
  function sync(): OutboxItem[] {
    if (!userId.value) return []
    const stored = read(userId.value)
    if (stored === null && !storage()) return []
    const next = stored ?? []
    const kept = new Set(next.map(i => i.id))
    const gone = items.value.filter(i => !kept.has(i.id))
    items.value = next
    return gone
  }

  /** Switches to a user's queue (sign-in, sign-out, another account): only theirs is shown and replayed. */
  function setUser(id: string | null) {
    if (id === userId.value) return
    userId.value = id
    items.value = id ? read(id) ?? [] : []
  }

  function enqueue(item: NewOutboxItem): OutboxItem {
    sync()
    const queued = { ...item, id: newItemId(), queuedAt: Date.now() } as OutboxItem
    items.value = [...items.value, queued]
    write()
    return queued
  }

  function remove(id: string) {
    sync()
    items.value = items.value.filter(i => i.id !== id)
    write()
  }

  /** Changes a queued item in place (a later edit of the same task joins the queued one). */
  function replace(item: OutboxItem) {
    sync()
    items.value = items.value.map(i => (i.id === item.id ? item : i))
    write()
  }

  return { userId, items, size, serverUnavailable, sync, setUser, enqueue, remove, replace }
})
