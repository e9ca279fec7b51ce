import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { CLOSE_MESSAGE_TOO_BIG, inspectFrame, MAX_FRAME_BYTES, wsServerOptions } from '../../server/realtime/frameGuard'

describe('inspectFrame', () => {
  it('passes JSON (a batch costs one per call) and the keep-alive frames', () => {
    expect(inspectFrame(Buffer.from('{"id":1}'), false)).toEqual({ cost: 1, message: { id: 1 } })
    expect(inspectFrame(Buffer.from('[{"id":1},{"id":2},{"id":3}]'), false)).toMatchObject({ cost: 3 })
    expect(inspectFrame(Buffer.from('[]'), false)).toMatchObject({ cost: 1 })
    expect(inspectFrame(Buffer.from('PING'), false)).toEqual({ cost: 1, keepAlive: 'PING' })
    expect(inspectFrame(Buffer.from('PONG'), false)).toEqual({ cost: 1, keepAlive: 'PONG' })
    expect(inspectFrame([Buffer.from('{"a":'), Buffer.from('1}')], false)).toEqual({ cost: 1, message: { a: 1 } })
  })

  it('refuses non-JSON and binary frames with 1003', () => {
    expect(inspectFrame(Buffer.alloc(MAX_FRAME_BYTES, 32), false)).toEqual({ code: 1003, reason: 'Invalid JSON' })
    expect(inspectFrame(Buffer.from('not json'), false)).toEqual({ code: 1003, reason: 'Invalid JSON' })
    expect(inspectFrame(Buffer.from('{}'), true)).toEqual({ code: 1003, reason: 'Binary frames are not supported' })
  })
})

describe('maxPayload (ws rejects oversized messages before they are buffered)', () => {
  it('closes with 1009 past MAX_FRAME_BYTES, and the socket never sees the message', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...wsServerOptions })
    const seen: number[] = []
    const errors: string[] = []
    wss.on('connection', (socket) => {
      // `ws` reports the oversized message as an error of the socket too (tRPC's handler listens in the app).
      socket.on('error', (error: Error & { code?: string }) => errors.push(error.code ?? error.message))
      socket.on('message', (data: Buffer) => seen.push(data.length))
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
      // Exactly the limit passes ws; one byte more is ws's 1009, and the message never arrives.
      const client = new WebSocket(url)
      await new Promise(resolve => client.once('open', resolve))
      client.send(' '.repeat(MAX_FRAME_BYTES))
      await expect.poll(() => seen).toEqual([MAX_FRAME_BYTES])
      client.terminate()
      expect(await closeAfter(`"${'x'.repeat(MAX_FRAME_BYTES)}"`)).toBe(CLOSE_MESSAGE_TOO_BIG)
      expect(seen).toEqual([MAX_FRAME_BYTES])
      expect(errors).toEqual(['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'])
    }
    finally {
      for (const client of wss.clients) client.terminate()
      await new Promise(resolve => wss.close(resolve))
    }
  })
})
