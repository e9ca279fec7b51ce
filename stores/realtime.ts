export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'offline'

/** The tab's socket: its state for the UI, and the last event seq applied per project. */
export const useRealtimeStore = defineStore('realtime', () => {
  const state = ref<ConnectionState>('idle')
  const browserOnline = ref(true)
  const lastSeq = ref<Record<string, number>>({})
  /** Counts task events applied per project: filtered views (the list) refetch when it moves. */
  const taskChanges = ref<Record<string, number>>({})
  let everOpened = false

  const status = computed<ConnectionState>(() => (!browserOnline.value ? 'offline' : state.value))

  /** Follows the socket: `connecting` (with the error of the lost socket when retrying), `pending` = open. */
  function socketState(next: 'idle' | 'connecting' | 'pending', lostConnection: boolean) {
    if (next === 'pending') {
      everOpened = true
      state.value = 'live'
    }
    else if (next === 'connecting') state.value = lostConnection || everOpened ? 'reconnecting' : 'connecting'
    else state.value = 'idle'
  }

  function watchBrowser() {
    browserOnline.value = navigator.onLine
    window.addEventListener('online', () => (browserOnline.value = true))
    window.addEventListener('offline', () => (browserOnline.value = false))
  }

  /** False for an event already applied (a replay after a resubscribe), true otherwise; records it. */
  function accept(projectId: string, seq: number): boolean {
    const last = lastSeq.value[projectId]
    if (last !== undefined && seq <= last) return false
    lastSeq.value[projectId] = seq
    return true
  }
  function taskChanged(projectId: string) {
    taskChanges.value[projectId] = (taskChanges.value[projectId] ?? 0) + 1
  }
  function startAt(projectId: string, seq: number) {
    lastSeq.value[projectId] = seq
  }
  function forget(projectId: string) {
    const { [projectId]: _, ...rest } = lastSeq.value
    lastSeq.value = rest
  }

  return { state, status, browserOnline, lastSeq, taskChanges, socketState, watchBrowser, accept, taskChanged, startAt, forget }
})
