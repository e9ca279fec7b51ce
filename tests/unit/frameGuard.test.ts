import { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { checkFrame, CLOSE_MESSAGE_TOO_BIG, CLOSE_TOO_MANY_MESSAGES, guardSocket, MAX_FRAME_BYTES, messageRate, wsServerOptions } from '../../server/realtime/frameGuard'

describe('checkFrame', () => {
  it('accepts JSON and the keep-alive frames', () => {
    expect(checkFrame(Buffer.from('{"id":1}'), false)).toBeNull()
    expect(checkFrame(Buffer.from('PING'), false)).toBeNull()
    expect(checkFrame(Buffer.from('PONG'), false)).toBeNull()
    expect(checkFrame([Buffer.from('{"a":'), Buffer.from('1}')], false)).toBeNull()
  })

  it('rejects non-JSON and binary frames', () => {
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
    raw.readyState = 1
    socket.off('message', b)
    expect(raw.listenerCount('message')).toBe(0)
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

describe('maxPayload (ws rejects oversized messages before they are buffered)', () => {
  it('closes with 1009 past MAX_FRAME_BYTES, and the guard never sees the message', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...wsServerOptions })
    const seen: number[] = []
    const errors: string[] = []
    wss.on('connection', (socket) => {
      // `ws` reports the oversized message as an error of the socket too (tRPC's handler listens in the app).
      socket.on('error', (error: Error & { code?: string }) => errors.push(error.code ?? error.message))
      guardSocket(socket).on('message', (data: Buffer) => seen.push(data.length))
    })
    await new Promise(resolve => wss.once('listening', resolve))
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
    try {
      const closeAfter = async (text: string) => {
        const client = new WebSocket(url)
        await new Promise(resolve => client.once('open', resolve))
        const closed = new Promise<number>(resolve => client.once('close', code => resolve(code)))
        client.send(text)
        return closed
      }
      // Exactly the limit passes ws (the guard then refuses it as not JSON); one byte more is ws's 1009.
      expect(await closeAfter(' '.repeat(MAX_FRAME_BYTES))).toBe(1003)
      expect(seen).toEqual([])
      expect(await closeAfter(`"${'x'.repeat(MAX_FRAME_BYTES)}"`)).toBe(CLOSE_MESSAGE_TOO_BIG)
      expect(seen).toEqual([])
      expect(errors).toEqual(['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'])
    }
    finally {
      for (const client of wss.clients) client.terminate()
      await new Promise(resolve => wss.close(resolve))
    }
  })
})
