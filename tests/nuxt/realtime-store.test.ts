import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { useRealtime } from '~/composables/useRealtime'
import { CloseCode, createBackoffGate, reconnectDelay } from '~/plugins/trpcWs.client'
import { useOutboxStore } from '~/stores/outbox'
import { useRealtimeStore } from '~/stores/realtime'

describe('realtime store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('says live, reconnecting and offline as the socket and the browser go', () => {
    const realtime = useRealtimeStore()
    const { state, label } = useRealtime()
    realtime.socketState('connecting', false)
    expect(label.value).toBe('Connecting…')
    realtime.socketState('pending', false)
    expect(state.value).toBe('live')
    realtime.socketState('connecting', true)
    expect(label.value).toBe('Reconnecting…')
    realtime.browserOnline = false
    // It was live a moment ago: the badge says since when the board is not updated.
    expect(label.value).toMatch(/^Offline · last synced \d\d:\d\d$/)
  })

  it('records how the last socket was closed', () => {
    const realtime = useRealtimeStore()
    expect(realtime.lastClose).toBeNull()
    realtime.closed(CloseCode.SLOW_CONSUMER, 'too far behind')
    expect(realtime.lastClose).toMatchObject({ code: 4008, reason: 'too far behind' })
    expect(useRealtime().lastClose.value?.code).toBe(4008)
  })

  it('shows how many changes are waiting in the outbox', () => {
    const { waiting, waitingLabel } = useRealtime()
    const outbox = useOutboxStore()
    expect(waitingLabel.value).toBe('')
    outbox.enqueue({ kind: 'comment.create', input: { taskId: 't1', body: 'one' } })
    expect(waitingLabel.value).toBe('1 change waiting')
    outbox.enqueue({ kind: 'comment.create', input: { taskId: 't1', body: 'two' } })
    expect(waiting.value).toBe(2)
    expect(waitingLabel.value).toBe('2 changes waiting')
  })
})

describe('reconnect delay', () => {
  const lowest = () => 0
  const highest = () => 0.999

  it('backs off exponentially with jitter, up to 30 s', () => {
    expect(reconnectDelay(0, null, lowest)).toBe(250)
    expect(reconnectDelay(0, null, highest)).toBeCloseTo(500, -1)
    expect(reconnectDelay(3, null, lowest)).toBe(2000)
    expect(reconnectDelay(20, null, highest)).toBeLessThanOrEqual(30_000)
    expect(reconnectDelay(20, null, lowest)).toBe(15_000)
  })

  it('comes back at once after 4008 (slow consumer) and spreads reconnects after 1001 (server restart)', () => {
    expect(reconnectDelay(0, CloseCode.SLOW_CONSUMER, highest)).toBe(0)
    // Only the first attempt: should that one fail, the usual backoff applies.
    expect(reconnectDelay(1, CloseCode.SLOW_CONSUMER, lowest)).toBe(500)
    expect(reconnectDelay(0, CloseCode.GOING_AWAY, lowest)).toBe(500)
    expect(reconnectDelay(0, CloseCode.GOING_AWAY, highest)).toBeGreaterThan(4900)
    // 1009 / 1003: the normal backoff.
    expect(reconnectDelay(0, CloseCode.MESSAGE_TOO_BIG, lowest)).toBe(250)
    expect(reconnectDelay(0, CloseCode.UNSUPPORTED_DATA, lowest)).toBe(250)
  })
})

describe('backoff gate', () => {
  it('holds a socket for its delay, and lets it through at once when the browser is back online', async () => {
    const gate = createBackoffGate(() => true)
    expect(gate.schedule(60_000)).toBe(0)
    let through = false
    const waiting = gate.wait().then(() => (through = true))
    await Promise.resolve()
    expect(through).toBe(false)
    gate.release()
    await waiting
    expect(through).toBe(true)
  })

  it('released ahead of a reconnect, that socket does not wait', async () => {
    const gate = createBackoffGate(() => true)
    gate.release(true)
    gate.schedule(60_000)
    // Would time the test out if it waited the minute.
    await gate.wait()
    gate.schedule(0)
    await gate.wait()
  })

  it('while offline, waits for the browser to come back even without a delay', async () => {
    let online = false
    const gate = createBackoffGate(() => online)
    gate.schedule(0)
    let through = false
    const waiting = gate.wait().then(() => (through = true))
    await Promise.resolve()
    expect(through).toBe(false)
    online = true
    gate.release()
    await waiting
    expect(through).toBe(true)
  })
})
