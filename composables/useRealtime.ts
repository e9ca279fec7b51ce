import { SERVER_UNAVAILABLE_TEXT } from '~/composables/useOutbox'
import type { ConnectionState } from '~/stores/realtime'

const labels: Record<ConnectionState, string> = {
  idle: 'Connecting…',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  signedOut: 'Signed out',
}

/** On a fallback transport (docs/websocket.md, "Fallback transports"), "Live" says which. */
const fallbackLabels = {
  sse: 'Live (fallback)',
  polling: 'Refreshing every 5 s',
} as const

/**
 * The tab's real-time connection, for the UI: its state, a label to show or read out, and the
 * writes waiting in the outbox ("3 changes waiting") until the connection is back.
 */
export function useRealtime() {
  const store = useRealtimeStore()
  const offlineLabel = computed(() => (store.lastSyncedAt ? `Offline · last synced ${formatClock(store.lastSyncedAt)}` : labels.offline))
  const outbox = useOutboxStore()
  const waiting = computed(() => outbox.size)
  // A socket may stay open while the API cannot take writes (its database is down): say so.
  const unavailable = computed(() => outbox.serverUnavailable && store.status !== 'offline')
  return {
    state: computed(() => (unavailable.value ? 'reconnecting' : store.status)),
    label: computed(() => {
      if (unavailable.value) return SERVER_UNAVAILABLE_TEXT
      if (store.status === 'offline') return offlineLabel.value
      if (store.status === 'live' && store.transport !== 'websocket') return fallbackLabels[store.transport]
      return labels[store.status]
    }),
    transport: computed(() => store.transport),
    waiting,
    waitingLabel: computed(() => (waiting.value ? `${waiting.value} ${waiting.value === 1 ? 'change' : 'changes'} waiting` : '')),
    lastClose: computed(() => store.lastClose),
  }
}
