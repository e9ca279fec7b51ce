import { describe, expect, inject, it } from 'vitest'
import WebSocket from 'ws'

const baseUrl = inject('baseUrl')
const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl)
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Sends one frame and resolves with the close code the server answers with. */
async function closeCodeAfter(data: string): Promise<number> {
  const socket = await open()
  const closed = new Promise<number>(resolve => socket.once('close', code => resolve(code)))
  socket.send(data)
  return closed
}

/** A fresh socket still gets answers: a keep-alive ping, then a real call. */
async function serverAnswers() {
  const socket = await open()
  const messages: string[] = []
  const got = (n: number) => new Promise<void>((resolve) => {
    const check = () => {
      if (messages.length >= n) resolve()
    }
    socket.on('message', (data) => {
      messages.push(data.toString())
      check()
    })
    check()
  })
  socket.send('PING')
  await got(1)
  expect(messages[0]).toBe('PONG')
  socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me', input: { json: null } } }))
  await got(2)
  expect(JSON.parse(messages[1]!)).toMatchObject({ id: 1, result: { type: 'data' } })
  socket.close()
}

describe('WebSocket frame limits', () => {
  it('closes with 1009 on a frame over 64 KiB', async () => {
    const big = JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me', input: { json: 'x'.repeat(70 * 1024) } } })
    expect(await closeCodeAfter(big)).toBe(1009)
    await serverAnswers()
  })

  it('closes with 1003 on a frame that is not JSON', async () => {
    expect(await closeCodeAfter('not json')).toBe(1003)
    await serverAnswers()
  })
})
