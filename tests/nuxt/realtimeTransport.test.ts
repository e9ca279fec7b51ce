// The tab's transport choice (utils/realtimeTransport.ts): WebSocket, then SSE, then polling, and
// back; subscriptions moved between them with their last tracked id; the indicator's words.
import { createTRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client'
import { observable, type Observer } from '@trpc/server/observable'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { AppRouter } from '~~/server/trpc/routers/_app'
import { useRealtime } from '~/composables/useRealtime'
import { useRealtimeStore } from '~/stores/realtime'
import { pollingLink, switchingLink, TransportController, WS_RETRY_MS, type PollingLinkOptions } from '~/utils/realtimeTransport'
import { manualClock } from './manualClock'

type AnyObserver = Observer<{ result: unknown }, unknown>

/** A terminating link the test drives: it records each operation and hands out its observer; like tRPC's, it completes when unsubscribed. */
function fakeLink() {
  const calls: { path: string, type: string, input: unknown, observer: AnyObserver, closed: boolean }[] = []
  const link: TRPCLink<AppRouter> = () => ({ op }) => observable((observer) => {
    const call = { path: op.path, type: op.type, input: op.input, observer: observer as AnyObserver, closed: false }
    calls.push(call)
    return () => {
      call.closed = true
      observer.complete()
    }
  })
  return { link, calls, open: () => calls.filter(c => !c.closed) }
}

const serverError = (code: string) => TRPCClientError.from({ error: { code: -32004, message: code, data: { code } } })

describe('transport state machine', () => {
  it('falls back to SSE after sockets fail to open twice in a row, to polling when SSE fails, and back to the WebSocket when a retry opens', async () => {
    const clock = manualClock()
    const probes: boolean[] = [false, true]
    const probe = vi.fn(async () => probes.shift() ?? false)
    const controller = new TransportController({ probeWebSocket: probe, setTimer: clock.setTimeout, clearTimer: clock.clearTimeout })
    const seen: string[] = []
    controller.onChange(() => seen.push(`${controller.transport}${controller.live ? ' live' : ''}`))

    controller.wsFailed()
    controller.wsOpened()
    controller.wsFailed()
    // One failure since the last open: still the socket.
    expect(controller.transport).toBe('websocket')
    controller.wsFailed()
    expect(controller.transport).toBe('sse')
    controller.fallbackLive(true)
    controller.sseFailed()
    expect(controller.transport).toBe('polling')
    controller.fallbackLive(true)

    clock.advance(WS_RETRY_MS - 1)
    expect(probe).not.toHaveBeenCalled()
    clock.advance(1)
    await vi.waitFor(() => expect(probe).toHaveBeenCalledTimes(1))
    expect(controller.transport).toBe('polling')
    // The failed probe schedules the next one once it has answered.
    await vi.waitFor(() => {
      clock.advance(WS_RETRY_MS)
      expect(controller.transport).toBe('websocket')
    })
    expect(probe).toHaveBeenCalledTimes(2)
    expect(seen).toEqual(['sse', 'sse live', 'polling', 'polling live', 'websocket'])
    // Back on the socket, nothing is retried any more.
    clock.advance(WS_RETRY_MS * 3)
    expect(probe).toHaveBeenCalledTimes(2)
  })

  it('goes back to the WebSocket as soon as tRPC\'s own reconnect opens one', () => {
    const controller = new TransportController({ probeWebSocket: async () => false, setTimer: manualClock().setTimeout, clearTimer: () => {} })
    controller.wsFailed()
    controller.wsFailed()
    expect(controller.transport).toBe('sse')
    controller.wsOpened()
    expect(controller.transport).toBe('websocket')
  })
})

describe('connection indicator on a fallback', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('says "Live (fallback)" over SSE and "Refreshing every 5 s" when polling, once they deliver', () => {
    const realtime = useRealtimeStore()
    const { label, state } = useRealtime()
    realtime.socketState('connecting', true)
    realtime.setTransport('sse', false)
    expect(label.value).toBe('Connecting…')
    realtime.setTransport('sse', true)
    expect(state.value).toBe('live')
    expect(label.value).toBe('Live (fallback)')
    // The socket's own retries do not change what the fallback says.
    realtime.socketState('connecting', true)
    expect(label.value).toBe('Live (fallback)')
    realtime.setTransport('polling', true)
    expect(label.value).toBe('Refreshing every 5 s')
    realtime.browserOnline = false
    expect(label.value).toBe('Offline')
    realtime.browserOnline = true
    realtime.setTransport('websocket', false)
    realtime.socketState('pending', false)
    expect(label.value).toBe('Live')
  })
})

describe('switching link', () => {
  function setup() {
    const controller = new TransportController({ probeWebSocket: async () => false, setTimer: manualClock().setTimeout, clearTimer: () => {} })
    const ws = fakeLink()
    const sse = fakeLink()
    const polling = fakeLink()
    const http = fakeLink()
    const onSignedOut = vi.fn()
    const client = createTRPCClient<AppRouter>({
      links: [switchingLink<AppRouter>({ controller, websocket: ws.link, sse: sse.link, polling: polling.link, http: http.link, onSignedOut, sseConnectTimeoutMs: 60_000 })],
    })
    return { controller, ws, sse, polling, http, client, onSignedOut }
  }

  it('moves a subscription from the socket to SSE to polling with the last id it delivered, and the data keeps flowing to the same callback', async () => {
    const { controller, ws, sse, polling, client } = setup()
    const got: unknown[] = []
    client.project.onEvent.subscribe({ projectId: 'p1', lastEventId: '5' }, { onData: ({ id }) => got.push(id) })
    expect(ws.open()).toHaveLength(1)
    ws.calls[0]!.observer.next({ result: { id: '6', data: { id: '6', data: { seq: 6 } } } })

    controller.wsFailed()
    controller.wsFailed()
    expect(ws.open()).toHaveLength(0)
    expect(sse.open()).toHaveLength(1)
    expect(sse.calls[0]!.input).toEqual({ projectId: 'p1', lastEventId: '6' })
    sse.calls[0]!.observer.next({ result: { type: 'started' } })
    expect(controller.live).toBe(true)
    sse.calls[0]!.observer.next({ result: { id: '7', data: { id: '7', data: { seq: 7 } } } })

    // Another subscription's stream could not connect: the tab polls, from the last id delivered.
    controller.sseFailed()
    expect(sse.open()).toHaveLength(0)
    expect(polling.open().map(c => c.input)).toEqual([{ projectId: 'p1', lastEventId: '7' }])
    polling.calls[0]!.observer.next({ result: { id: '8', data: { id: '8', data: { seq: 8 } } } })

    controller.wsOpened()
    expect(polling.open()).toHaveLength(0)
    expect(ws.open().map(c => c.input)).toEqual([{ projectId: 'p1', lastEventId: '8' }])
    expect(got).toEqual(['6', '7', '8'])
  })

  it('passes an error of a stream that had connected to the subscription, without switching', () => {
    const { controller, sse, client } = setup()
    controller.wsFailed()
    controller.wsFailed()
    const onError = vi.fn()
    client.project.onEvent.subscribe({ projectId: 'p1', lastEventId: '3' }, { onData: () => {}, onError })
    sse.calls[0]!.observer.next({ result: { type: 'started' } })
    sse.calls[0]!.observer.error(serverError('NOT_FOUND'))
    expect(onError).toHaveBeenCalledTimes(1)
    expect(controller.transport).toBe('sse')
  })

  it('sends the tab to polling when an SSE stream fails before it connected', () => {
    const { controller, sse, polling, client } = setup()
    controller.wsFailed()
    controller.wsFailed()
    client.project.onEvent.subscribe({ projectId: 'p1', lastEventId: '3' }, { onData: () => {} })
    sse.calls[0]!.observer.error(TRPCClientError.from(new Error('EventSource failed')))
    expect(controller.transport).toBe('polling')
    expect(polling.open().map(c => c.input)).toEqual([{ projectId: 'p1', lastEventId: '3' }])
  })

  it('keeps presence for the WebSocket: its subscription waits, calls go over HTTP meanwhile', async () => {
    const { controller, ws, sse, http, client } = setup()
    void client.presence.setStatus.mutate({ status: 'away' })
    expect(ws.calls.map(c => c.path)).toEqual(['presence.setStatus'])
    controller.wsFailed()
    controller.wsFailed()
    client.presence.onProject.subscribe({ projectId: 'p1' }, { onData: () => {} })
    expect(sse.calls).toHaveLength(0)
    void client.presence.setStatus.mutate({ status: 'dnd' })
    expect(http.calls.map(c => [c.path, c.input])).toEqual([['presence.setStatus', { status: 'dnd' }]])
    controller.wsOpened()
    expect(ws.open().filter(c => c.type === 'subscription').map(c => c.path)).toEqual(['presence.onProject'])
  })

  it('signs the tab out when a fallback subscription is refused with UNAUTHORIZED (a revoked session)', () => {
    const { controller, sse, client, onSignedOut } = setup()
    controller.wsFailed()
    controller.wsFailed()
    const onError = vi.fn()
    client.project.onEvent.subscribe({ projectId: 'p1', lastEventId: '3' }, { onData: () => {}, onError })
    sse.calls[0]!.observer.next({ result: { type: 'started' } })
    sse.calls[0]!.observer.error(serverError('UNAUTHORIZED'))
    expect(onSignedOut).toHaveBeenCalledTimes(1)
    expect(onError).toHaveBeenCalledTimes(1)
    expect(controller.transport).toBe('sse')
  })
})

describe('polling link', () => {
  function client(options: Partial<PollingLinkOptions> & Pick<PollingLinkOptions, 'fetchPage'>) {
    return createTRPCClient<AppRouter>({ links: [pollingLink<AppRouter>({ latestId: async () => '0', intervalMs: 5, ...options })] })
  }

  it('pages from the resume id, delivers tracked { id, data } in order and polls on from the last id', async () => {
    const asked: string[] = []
    const pages = [
      { events: [{ id: '8', data: { seq: 8 } }, { id: '9', data: { seq: 9 } }], more: true },
      { events: [{ id: '10', data: { seq: 10 } }], more: false },
    ]
    const got: unknown[] = []
    const sub = client({
      fetchPage: async (procedure, input) => {
        asked.push(`${procedure} ${String(input.lastEventId)}`)
        return pages.shift() ?? { events: [], more: false }
      },
    }).project.onEvent.subscribe({ projectId: 'p1', lastEventId: '7' }, { onData: ({ id, data }) => got.push([id, data]) })
    await vi.waitFor(() => expect(asked.length).toBeGreaterThanOrEqual(4))
    sub.unsubscribe()
    expect(got).toEqual([['8', { seq: 8 }], ['9', { seq: 9 }], ['10', { seq: 10 }]])
    expect(asked.slice(0, 4)).toEqual(['project.eventsSince 7', 'project.eventsSince 9', 'project.eventsSince 10', 'project.eventsSince 10'])
  })

  it('sends a badge that moved without a new notification (read elsewhere) as a state event', async () => {
    const counts = [3, 3, 1]
    const got: unknown[] = []
    const sub = client({ fetchPage: async () => ({ events: [], more: false, unreadCount: counts.shift() ?? 1 }) })
      .notification.onEvent.subscribe({ lastEventId: '4' }, { onData: ({ id, data }) => got.push([id, data]) })
    await vi.waitFor(() => expect(got).toHaveLength(1))
    sub.unsubscribe()
    expect(got).toEqual([['4', { kind: 'state', ids: [], unreadCount: 1 }]])
  })

  it('retries after a network failure, and ends with the server\'s answer (NOT_FOUND)', async () => {
    let n = 0
    const onError = vi.fn()
    const got: unknown[] = []
    client({
      fetchPage: async () => {
        n++
        if (n === 1) throw TRPCClientError.from(new Error('fetch failed'))
        if (n === 2) return { events: [{ id: '2', data: { seq: 2 } }], more: false }
        throw serverError('NOT_FOUND')
      },
    }).project.onEvent.subscribe({ projectId: 'p1', lastEventId: '1' }, { onData: ({ id }) => got.push(id), onError })
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(1))
    expect(got).toEqual(['2'])
    expect(n).toBe(3)
  })

  it('starts from the newest id when the subscription has none', async () => {
    const asked: unknown[] = []
    const sub = client({ latestId: async () => '42', fetchPage: async (_, input) => (asked.push(input), { events: [], more: false }) })
      .notification.onEvent.subscribe({}, { onData: () => {} })
    await vi.waitFor(() => expect(asked.length).toBeGreaterThan(0))
    sub.unsubscribe()
    expect(asked[0]).toEqual({ lastEventId: '42' })
  })
})
