import type { Transport } from '~/utils/realtimeTransport'

export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'offline' | 'signedOut'

/** How the tab's last socket ended, as the server (or the network) closed it. */
export interface SocketClose {
  code: number
  reason: string
  at: number
}

/** localStorage key of the last moment this browser was in sync with the server (ms since epoch). */
export const LAST_SYNCED_KEY = 'tt:lastSynced'

function readLastSynced(): number | null {
  if (typeof localStorage === 'undefined') return null
  const value = Number(localStorage.getItem(LAST_SYNCED_KEY))
  return Number.isFinite(value) && value > 0 ? value : null
}

/** The tab's socket: its state for the UI, and the last event seq applied per project. */
export const useRealtimeStore = defineStore('realtime', () => {
  const state = ref<ConnectionState>('idle')
  const browserOnline = ref(true)
  const lastSeq = ref<Record<string, number>>({})
  /** Counts task events applied per project: filtered views (the list) refetch when it moves. */
  const taskChanges = ref<Record<string, number>>({})
  /** Counts new comments per task: an open task panel reloads its thread when it moves. */
  const commentChanges = ref<Record<string, number>>({})
  /** The last close not asked for by this tab (4008 slow consumer, 1001 server restart, 1006 network…). */
  const lastClose = ref<SocketClose | null>(null)
  /** What carries the subscriptions: the socket, or a fallback when it cannot be used (docs/websocket.md). */
  const transport = ref<Transport>('websocket')
  /** Whether the fallback in use delivers (an SSE stream connected, a poll answered). */
  const fallbackLive = ref(false)
  let everOpened = false
  /**
   * When the data on screen was last known current: the socket was live then. Kept in localStorage
   * so a board reopened offline (from the service worker's cache) can say "last synced 10:42".
   */
  const lastSyncedAt = ref<number | null>(null)

  function markSynced(at = Date.now()) {
    lastSyncedAt.value = at
    if (typeof localStorage !== 'undefined') localStorage.setItem(LAST_SYNCED_KEY, String(at))
  }

  const status = computed<ConnectionState>(() => {
    if (!browserOnline.value) return 'offline'
    if (state.value === 'signedOut' || transport.value === 'websocket') return state.value
    return fallbackLive.value ? 'live' : 'connecting'
  })

  /** Follows the transport state machine (utils/realtimeTransport.ts). */
  function setTransport(next: Transport, live: boolean) {
    transport.value = next
    fallbackLive.value = live
  }

  /** Follows the socket: `connecting` (with the error of the lost socket when retrying), `pending` = open. */
  function socketState(next: 'idle' | 'connecting' | 'pending', lostConnection: boolean) {
    // The server ended this tab's sign-in (4401 / 4408): the socket stays closed until sign-in.
    if (state.value === 'signedOut') return
    if (state.value === 'live' && next !== 'pending') markSynced()
    if (next === 'pending') {
      everOpened = true
      state.value = 'live'
      markSynced()
    }
    else if (next === 'connecting') state.value = lostConnection || everOpened ? 'reconnecting' : 'connecting'
    else state.value = 'idle'
  }

  function closed(code: number, reason: string) {
    lastClose.value = { code, reason, at: Date.now() }
  }

  /** The server closed the socket because this tab's session or token no longer signs in. */
  function signedOut() {
    state.value = 'signedOut'
  }

  /** Follows the browser's network state; `onOnline` runs after the state says online again. */
  function watchBrowser(onOnline?: () => void) {
    browserOnline.value = navigator.onLine
    lastSyncedAt.value = readLastSynced()
    window.addEventListener('online', () => {
      browserOnline.value = true
      onOnline?.()
    })
    window.addEventListener('offline', () => {
      if (state.value === 'live') markSynced()
      browserOnline.value = false
    })
    // Leaving (or reloading) while live: what is on screen was current until now.
    window.addEventListener('pagehide', () => {
      if (status.value === 'live') markSynced()
    })
  }

  /** Sign-out: the next user of this browser starts with no sync time of the last one. */
  function forgetSync() {
    lastSyncedAt.value = null
    if (typeof localStorage !== 'undefined') localStorage.removeItem(LAST_SYNCED_KEY)
  }

  /**
   * Where an incoming event stands against the last one applied: `next` (recorded), `duplicate`
   * (a replay after a resubscribe: drop it) or `gap` (one went missing: resubscribe from the last).
   */
  function accept(projectId: string, seq: number): 'next' | 'duplicate' | 'gap' {
    const last = lastSeq.value[projectId]
    if (last !== undefined && seq <= last) return 'duplicate'
    if (last !== undefined && seq > last + 1) return 'gap'
    lastSeq.value[projectId] = seq
    if (state.value === 'live') markSynced()
    return 'next'
  }
  function taskChanged(projectId: string) {
    taskChanges.value[projectId] = (taskChanges.value[projectId] ?? 0) + 1
  }
  function commented(taskId: string) {
    commentChanges.value[taskId] = (commentChanges.value[taskId] ?? 0) + 1
  }
  function startAt(projectId: string, seq: number) {
    lastSeq.value[projectId] = seq
  }
  function forget(projectId: string) {
    const { [projectId]: _, ...rest } = lastSeq.value
    lastSeq.value = rest
  }

  return { state, status, transport, fallbackLive, setTransport, browserOnline, lastSeq, lastClose, lastSyncedAt, taskChanges, commentChanges, socketState, closed, signedOut, watchBrowser, forgetSync, accept, taskChanged, commented, startAt, forget }
})
