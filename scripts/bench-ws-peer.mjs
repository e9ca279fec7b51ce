// A peer for `npm run bench:ws`: the same broadcast without our app, so that our figures can be read
// as ratios to it in the same run. Started by bench-ws.mjs as a child process:
//   node scripts/bench-ws-peer.mjs --kind=ws|socketio --port=P [--redis=redis://… --channel=name]
// - ws: a bare `ws` server; each published event is stringified once and sent to every socket (with
//   --redis, the publish goes through a Redis channel first, as ours does with REDIS_URL; peers given
//   the same --channel share it, as two instances of ours share a project's channel).
// - socketio: Socket.IO with @socket.io/redis-adapter (--redis) or its in-memory adapter; `io.emit`.
// POST /publish {"marker": "…"} broadcasts an event shaped like ours: a task update whose description
// (300 bytes, starting with the marker) is the payload. GET / answers 200 once listening.
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const KIND = args.kind ?? 'ws'
const PORT = Number(args.port)
const REDIS = args.redis || null
const PAYLOAD_BYTES = Number(args.payload ?? 300)

let seq = 0
/** The event for a marker: the same fields and sizes as ours (25-character ids, an ISO date). */
function eventOf(marker) {
  seq++
  return {
    seq,
    type: 'task.updated',
    actorId: 'a'.repeat(25),
    entityId: 'e'.repeat(25),
    data: { version: seq, changes: { description: { to: marker.padEnd(PAYLOAD_BYTES, '.') } } },
    createdAt: new Date().toISOString(),
  }
}

const http = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      publish(JSON.parse(body).marker).then(() => res.end('{}'), (error) => {
        res.statusCode = 500
        res.end(String(error))
      })
    })
    return
  }
  res.end('ok')
})

// Stopped with SIGTERM when profiled (`--cpu-prof`): a normal exit writes the profile.
process.on('SIGTERM', () => process.exit(0))

let publish
if (KIND === 'socketio') {
  const { Server } = await import('socket.io')
  const io = new Server(http, { cors: { origin: '*' }, transports: ['websocket'], perMessageDeflate: false })
  if (REDIS) {
    const { createAdapter } = await import('@socket.io/redis-adapter')
    const { Redis } = await import('ioredis')
    const pub = new Redis(REDIS)
    const sub = pub.duplicate()
    io.adapter(createAdapter(pub, sub))
  }
  io.on('connection', (socket) => {
    socket.on('subscribe', (_projectId, ack) => ack?.({ ok: true }))
  })
  publish = async marker => void io.emit('event', eventOf(marker))
}
else {
  const { WebSocketServer } = await import('ws')
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false })
  const sockets = new Set()
  wss.on('connection', (socket) => {
    // The bench's raw clients speak tRPC's protocol; a bare server answers the subscribe with "started".
    socket.on('message', (data) => {
      const text = data.toString()
      if (text === 'PONG') return
      const message = JSON.parse(text)
      if (message.method === 'subscription') {
        sockets.add(socket)
        socket.send(JSON.stringify({ id: message.id, result: { type: 'started' } }))
      }
    })
    socket.on('close', () => sockets.delete(socket))
  })
  const broadcast = (text) => {
    for (const socket of sockets) socket.send(text)
  }
  const frameOf = marker => JSON.stringify({ id: 1, result: { type: 'data', data: { id: String(seq + 1), data: eventOf(marker) } } })
  if (REDIS) {
    const { Redis } = await import('ioredis')
    const pub = new Redis(REDIS)
    const sub = pub.duplicate()
    const channel = args.channel || `bench-peer-${randomUUID()}`
    await sub.subscribe(channel)
    sub.on('message', (_channel, text) => broadcast(text))
    publish = marker => pub.publish(channel, frameOf(marker))
  }
  else {
    publish = async marker => broadcast(frameOf(marker))
  }
}

http.listen(PORT, '127.0.0.1', () => process.send?.({ type: 'listening' }))
