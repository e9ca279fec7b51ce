import { EventEmitter } from 'node:events'
import { describe, expect, it, vi } from 'vitest'
import type { WebSocket } from 'ws'
import { checkFrame, guardSocket, MAX_FRAME_BYTES } from '../../server/realtime/frameGuard'

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
    const raw = Object.assign(new EventEmitter(), { close: vi.fn() })
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
