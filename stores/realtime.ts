export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'offline'

/** The tab's socket: its state for the UI, and the last event seq applied per project. */
export const useRealtimeStore = defineStore('realtime', () => {
  const state = ref<ConnectionState>('idle')
  const browserOnline = ref(true)
  const lastSeq = ref<Record<string, number>>({})
  /** Counts task events applied per project: filtered views (the list) refetch when it moves. */
  const taskChanges = ref<Record<string, number>>({})
  /** Counts new comments per task: an open task panel reloads its thread when it moves. */
  const commentChanges = ref<Record<string, number>>({})
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

  /**
   * Where an incoming event stands against the last one applied: `next` (recorded), `duplicate`
   * (a replay after a resubscribe: drop it) or `gap` (one went missing: resubscribe from the last).
   */
  function accept(projectId: string, seq: number): 'next' | 'duplicate' | 'gap' {
    const last = lastSeq.value[projectId]
    if (last !== undefined && seq <= last) return 'duplicate'
    if (last !== undefined && seq > last + 1) return 'gap'
    lastSeq.value[projectId] = seq
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

  return { state, status, browserOnline, lastSeq, taskChanges, commentChanges, socketState, watchBrowser, accept, taskChanged, commented, startAt, forget }
})
