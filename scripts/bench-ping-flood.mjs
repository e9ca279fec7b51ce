// A PING flood from many sockets that never read, against a running server: how much the server's
// memory grows and how the sockets end. Not a test (timings depend on the machine).
//
//   node .output/server/index.mjs &                      # the server under test (note its pid)
//   node scripts/bench-ping-flood.mjs --url ws://127.0.0.1:3000/api/trpc-ws --pid <server pid> --sockets 50 --pings 20000
//
// Before the per-socket message rate and the per-write send budget, 50 such sockets took a server
// from ~480 MB to ~1.2 GB; now each is closed with 4029 after its burst (200 messages).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:3000/api/trpc-ws' },
    pid: { type: 'string' },
    sockets: { type: 'string', default: '50' },
    pings: { type: 'string', default: '20000' },
  },
})

function rssMiB(pid) {
  if (!pid) return null
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:'))
  return line ? Math.round(Number(line.split(/\s+/)[1]) / 1024) : null
}

const n = Number(values.sockets)
const pings = Number(values.pings)
const before = rssMiB(values.pid)
let peak = before ?? 0
const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(values.pid) ?? 0)), 100)

const codes = new Map()
const started = Date.now()
await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
  const socket = new WebSocket(values.url)
  socket.once('open', () => {
    // Never read what the server answers: it stays queued on the server's side.
    socket._socket.pause()
    for (let i = 0; i < pings && socket.readyState === WebSocket.OPEN; i++) socket.send('PING')
  })
  socket.once('error', () => {})
  const timer = setTimeout(() => {
    codes.set('still open after 30 s', (codes.get('still open after 30 s') ?? 0) + 1)
    socket.terminate()
  }, 30_000)
  // A paused reader may never see the close frame; the server then cuts the TCP connection (1006).
  socket.once('close', (code) => {
    clearTimeout(timer)
    codes.set(code, (codes.get(code) ?? 0) + 1)
    resolve()
  })
})))
clearInterval(sampler)

console.log(`${n} sockets × ${pings} PINGs, ${Date.now() - started} ms`)
console.log('closes by code:', Object.fromEntries(codes))
if (before !== null) console.log(`server RSS: ${before} MiB before, ${peak} MiB peak, ${rssMiB(values.pid)} MiB after`)
