import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { framePayload, textFrame, writeFrame } from '../../server/realtime/rawFrames'

/** A `ws` server and one client; `received` collects the client's text messages in order. */
async function pair(serverOptions: ConstructorParameters<typeof WebSocketServer>[0] = {}) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', ...serverOptions })
  await new Promise(resolve => server.once('listening', resolve))
  const accepted = new Promise<WebSocket>(resolve => server.once('connection', resolve))
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: Boolean(serverOptions.perMessageDeflate) })
  const received: string[] = []
  client.on('message', (data, isBinary) => received.push(isBinary ? '<binary>' : data.toString()))
  const socket = await accepted
  await new Promise(resolve => client.once('open', resolve))
  cleanups.push(() => {
    client.terminate()
    server.close()
  })
  return { socket, client, received }
}

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

describe('textFrame', () => {
  it('encodes the three length forms, and framePayload gives the payload back', () => {
    for (const [length, header] of [[0, 2], [125, 2], [126, 4], [65_535, 4], [65_536, 10]] as const) {
      const payload = Buffer.alloc(length, 'x')
      const frame = textFrame(payload)
      expect(frame.length).toBe(length + header)
      expect(frame[0]).toBe(0x81)
      expect(framePayload(frame).equals(payload)).toBe(true)
    }
  })
})

describe('writeFrame', () => {
  it('delivers shared frames of every length form in order with ws.send frames, to several sockets', async () => {
    const a = await pair()
    const b = await pair()
    const texts = [0, 5, 125, 126, 1_000, 65_535, 70_000].map((length, i) => `${i}:`.padEnd(length + 2, 'y'))
    const frames = texts.map(text => textFrame(Buffer.from(text)))
    for (const { socket } of [a, b]) {
      socket.send('first')
      frames.forEach((frame, i) => {
        writeFrame(socket, frame)
        socket.send(`after ${i}`)
      })
    }
    const expected = ['first', ...texts.flatMap((text, i) => [text, `after ${i}`])]
    // An idle sender: the shared frame went to the TCP stream itself, not through `ws.send`.
    const send = vi.spyOn(a.socket, 'send')
    writeFrame(a.socket, textFrame(Buffer.from('fast')))
    expect(send).not.toHaveBeenCalled()
    await expect.poll(() => a.received.length).toBe(expected.length + 1)
    await expect.poll(() => b.received.length).toBe(expected.length)
    expect(a.received).toEqual([...expected, 'fast'])
    expect(b.received).toEqual(expected)
  })

  it('waits behind a message ws is still compressing (its own send keeps the order)', async () => {
    const { socket, received } = await pair({ perMessageDeflate: { threshold: 0 } })
    const big = 'z'.repeat(200_000)
    socket.send(big) // compressed asynchronously: ws queues what follows
    const send = vi.spyOn(socket, 'send')
    writeFrame(socket, textFrame(Buffer.from('next')))
    expect(send).toHaveBeenCalledTimes(1)
    await expect.poll(() => received.length).toBe(2)
    expect(received).toEqual([big, 'next'])
  })
})
