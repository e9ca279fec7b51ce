import type { ConnectionState } from '~/stores/realtime'

const labels: Record<ConnectionState, string> = {
  idle: 'Connecting…',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
}

/** The tab's real-time connection, for the UI: its state and a label to show or read out. */
export function useRealtime() {
  const store = useRealtimeStore()
  return {
    state: computed(() => store.status),
    label: computed(() => labels[store.status]),
  }
}
