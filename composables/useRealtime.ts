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
    label: computed(() => (unavailable.value ? SERVER_UNAVAILABLE_TEXT : store.status === 'offline' ? offlineLabel.value : labels[store.status])),
    waiting,
    waitingLabel: computed(() => (waiting.value ? `${waiting.value} ${waiting.value === 1 ? 'change' : 'changes'} waiting` : '')),
    lastClose: computed(() => store.lastClose),
  }
}
