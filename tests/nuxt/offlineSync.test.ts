import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { useRealtime } from '~/composables/useRealtime'
import { LAST_SYNCED_KEY, useRealtimeStore } from '~/stores/realtime'
import { clearOfflineCaches } from '~/utils/offlineCache'
import { formatClock } from '~/utils/format'

describe('offline badge: last synced', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
  })

  it('says plain "Offline" when this browser was never in sync', () => {
    const realtime = useRealtimeStore()
    realtime.browserOnline = false
    expect(useRealtime().label.value).toBe('Offline')
  })

  it('keeps the time the socket was last live, across a reload, and names it offline', () => {
    const realtime = useRealtimeStore()
    realtime.socketState('pending', false)
    const stored = Number(localStorage.getItem(LAST_SYNCED_KEY))
    expect(stored).toBeGreaterThan(0)

    // A reload offline: a fresh store reads the time back when it starts following the browser.
    setActivePinia(createPinia())
    const again = useRealtimeStore()
    again.watchBrowser()
    again.browserOnline = false
    expect(again.lastSyncedAt).toBe(stored)
    expect(useRealtime().label.value).toBe(`Offline · last synced ${formatClock(stored)}`)
  })

  it('moves the time on with every event applied while live', () => {
    const realtime = useRealtimeStore()
    realtime.socketState('pending', false)
    localStorage.setItem(LAST_SYNCED_KEY, '1')
    realtime.startAt('p1', 4)
    expect(realtime.accept('p1', 5)).toBe('next')
    expect(Number(localStorage.getItem(LAST_SYNCED_KEY))).toBeGreaterThan(1)
  })

  it('forgets it on sign-out', () => {
    const realtime = useRealtimeStore()
    realtime.socketState('pending', false)
    realtime.forgetSync()
    expect(realtime.lastSyncedAt).toBeNull()
    expect(localStorage.getItem(LAST_SYNCED_KEY)).toBeNull()
  })

  it('formats 24-hour clock times', () => {
    expect(formatClock(new Date(2026, 0, 1, 9, 5))).toBe('09:05')
    expect(formatClock(new Date(2026, 0, 1, 22, 42))).toBe('22:42')
  })

  it('clearOfflineCaches is harmless where there is no CacheStorage', async () => {
    await expect(clearOfflineCaches()).resolves.toBeUndefined()
  })
})
