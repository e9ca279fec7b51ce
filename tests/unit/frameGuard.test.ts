import { EventEmitter } from 'node:events'
import { describe, expect, it, vi } from 'vitest'
import type { WebSocket } from 'ws'
import { checkFrame, CLOSE_TOO_MANY_MESSAGES, guardSocket, MAX_FRAME_BYTES, messageRate } from '../../server/realtime/frameGuard'

describe('checkFrame', () => {
  it('accepts JSON and the keep-alive frames', () => {
    expect(checkFrame(Buffer.from('{"id":1}'), false)).toBeNull()
    expect(checkFrame(Buffer.from('PING'), false)).toBeNull()
    expect(checkFrame(Buffer.from('PONG'), false)).toBeNull()
    expect(checkFrame([Buffer.from('{"a":'), Buffer.from('1}')], false)).toBeNull()
  })

  it('rejects oversized, non-JSON and binary frames', () => {
    expect(checkFrame(Buffer.alloc(MAX_FRAME_BYTES + 1, 32), false)?.code).toBe(1009)
    expect(checkFrame(Buffer.alloc(MAX_FRAME_BYTES, 32), false)?.code).toBe(1003)
    expect(checkFrame(Buffer.from('not json'), false)?.code).toBe(1003)
    expect(checkFrame(Buffer.from('{}'), true)?.code).toBe(1003)
  })
})

describe('guardSocket', () => {
  it('keeps bad frames from the listeners and closes once', () => {
    const raw = Object.assign(new EventEmitter(), { close: vi.fn(), terminate: vi.fn(), readyState: 1 })
    const socket = guardSocket(raw as unknown as WebSocket)
    const a = vi.fn()
    const b = vi.fn()
    socket.on('message', a)
    socket.on('message', b)
    raw.emit('message', Buffer.from('{"id":1}'), false)
    expect(a).toHaveBeenCalledTimes(1)
    expect(b).toHaveBeenCalledTimes(1)
    raw.emit('message', Buffer.from('nope'), false)
    raw.emit('message', Buffer.from('{"id":2}'), false)
    expect(a).toHaveBeenCalledTimes(1)
    expect(b).toHaveBeenCalledTimes(1)
    expect(raw.close).toHaveBeenCalledTimes(1)
    expect(raw.close).toHaveBeenCalledWith(1003, 'Invalid JSON')
    socket.off('message', a)
    expect(raw.listenerCount('message')).toBe(1)
  })
})

describe('message rate per socket', () => {
  function fakeSocket() {
    const raw = Object.assign(new EventEmitter(), { readyState: 1, terminate: vi.fn(), close: vi.fn((_code: number) => (raw.readyState = 2)) })
    return raw
  }

  it('closes with 4029 past the burst, PINGs included, and refills with time', () => {
    let now = 1_000
    const raw = fakeSocket()
    const flood = vi.fn()
    const socket = guardSocket(raw as unknown as WebSocket, { onFlood: flood, now: () => now })
    const seen = vi.fn()
    socket.on('message', seen)
    for (let i = 0; i < messageRate.burst; i++) raw.emit('message', Buffer.from('PING'), false)
    expect(seen).toHaveBeenCalledTimes(messageRate.burst)
    // A second later there is room for perSecond more.
    now += 1_000
    for (let i = 0; i < messageRate.perSecond; i++) raw.emit('message', Buffer.from('PING'), false)
    expect(raw.close).not.toHaveBeenCalled()
    raw.emit('message', Buffer.from('PING'), false)
    expect(raw.close).toHaveBeenCalledWith(CLOSE_TOO_MANY_MESSAGES, 'Too many messages')
    expect(flood).toHaveBeenCalledTimes(1)
    raw.emit('message', Buffer.from('{"id":1}'), false)
    expect(seen).toHaveBeenCalledTimes(messageRate.burst + messageRate.perSecond)
  })

  it('counts each call of a batch', () => {
    const raw = fakeSocket()
    const socket = guardSocket(raw as unknown as WebSocket, { now: () => 0 })
    socket.on('message', () => {})
    const batch = JSON.stringify(Array.from({ length: messageRate.burst + 1 }, (_, id) => ({ id, method: 'query', params: { path: 'auth.me' } })))
    raw.emit('message', Buffer.from(batch), false)
    expect(raw.close).toHaveBeenCalledWith(CLOSE_TOO_MANY_MESSAGES, 'Too many messages')
  })
})
