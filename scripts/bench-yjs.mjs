// Live description editing (issue 17), two measurements:
//
// 1. Typing: EDITORS people (each a user with their own socket and Y.Doc) on one description, each
//    typing RATE keystrokes a second for DURATION seconds against the production build (`.output`,
//    fresh embedded database). Each keystroke is one `description.push`; the delay is from sending it
//    to its arrival as an `update` on every other editor's `description.onDoc` stream (p50/p99/max),
//    and the server process's CPU over the typing (utime + stime from /proc).
// 2. Size: EDITS single-character edits (typing with 1 in 5 a backspace, at a moving cursor) as
//    stored updates, before and after compaction (what DescriptionHub.compact keeps), in process.
//
//   npm run build && npm run bench:yjs [-- --editors=50 --rate=5 --duration=20 --edits=10000]
import { readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client'
import superjson from 'superjson'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { httpCaller, startBenchServer } from './bench-lib.mjs'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const EDITORS = Number(args.editors ?? 50)
const RATE = Number(args.rate ?? 5)
const DURATION = Number(args.duration ?? 15) * 1000
const EDITS = Number(args.edits ?? 10_000)
/** editors that apply every remote update (and whose texts must end equal) */
const OBSERVERS = Number(args.observers ?? 5)

const b64 = bytes => Buffer.from(bytes).toString('base64')
const unb64 = text => new Uint8Array(Buffer.from(text, 'base64'))
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const ms = v => `${v.toFixed(1)} ms`

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime, in clock ticks (100 a second)
}

function headerWebSocket(headers) {
  return class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers })
    }
  }
}

async function typing() {
  const { base, stop, pid } = await startBenchServer('tt-bench-yjs-', {
    WS_MAX_PER_USER: '1000', WS_MAX_PER_IP: '100000', REGISTER_LIMIT_PER_IP: '1000000', WS_AUTH_TIMEOUT_SECONDS: '300',
  })
  const wsUrl = `${base.replace(/^http/, 'ws')}/api/trpc-ws`
  const owner = httpCaller(base)
  await owner.call('mutation', 'auth.register', { email: 'owner@bench.test', username: 'yjsowner', name: 'Owner', password: 'benchmark-password' })
  const project = await owner.call('mutation', 'project.create', { name: 'Live description bench' })
  const task = await owner.call('mutation', 'task.create', { projectId: project.id, title: 'Edited by many', description: 'Notes:\n' })
  const people = [owner]
  for (let i = 1; i < EDITORS; i++) {
    const user = httpCaller(base)
    await user.call('mutation', 'auth.register', { email: `y${i}@bench.test`, username: `yjsuser${i}`, name: `Editor ${i}`, password: 'benchmark-password' })
    await owner.call('mutation', 'member.add', { projectId: project.id, username: `yjsuser${i}`, role: 'MEMBER' })
    people.push(user)
  }

  /** update (base64) → when it was sent */
  const sentAt = new Map()
  const delays = []
  let failures = 0
  let received = 0
  const editors = await Promise.all(people.map(async (person, i) => {
    const socket = createWSClient({ url: wsUrl, WebSocket: headerWebSocket({ cookie: person.cookie() }), retryDelayMs: () => 1000 })
    const client = createTRPCClient({ links: [wsLink({ client: socket, transformer: superjson })] })
    const doc = new Y.Doc()
    await new Promise((resolve, reject) => {
      client.description.onDoc.subscribe({ taskId: task.id }, {
        onData(message) {
          const now = performance.now()
          if (message.kind === 'sync') {
            Y.applyUpdate(doc, unb64(message.update), 'server')
            resolve()
          }
          else if (message.kind === 'update') {
            // Only the observers apply what they receive (the load generator shares the 2 cores with
            // the server); every editor still receives every update, and the observers' texts are compared.
            if (i < OBSERVERS) Y.applyUpdate(doc, unb64(message.update), 'server')
            const at = sentAt.get(message.update)
            if (at !== undefined && at.from !== i) {
              delays.push(now - at.t)
              received++
            }
          }
        },
        onError: reject,
      })
    })
    return { i, client, doc, socket }
  }))

  const typeOne = async (editor, k) => {
    const text = editor.doc.getText('description')
    const before = Y.encodeStateVector(editor.doc)
    text.insert(Math.floor(Math.random() * (text.length + 1)), String.fromCharCode(97 + ((editor.i + k) % 26)))
    const update = b64(Y.encodeStateAsUpdate(editor.doc, before))
    sentAt.set(update, { t: performance.now(), from: editor.i })
    try {
      await editor.client.description.push.mutate({ taskId: task.id, update })
    }
    catch (error) {
      failures++
      if (failures < 5) console.error(`push failed: ${error.message}`)
    }
  }

  const cpu0 = cpuTicks(pid)
  const t0 = performance.now()
  await Promise.all(editors.map(async (editor) => {
    // Spread the editors over the first interval, then RATE a second each.
    await new Promise(r => setTimeout(r, Math.random() * (1000 / RATE)))
    const start = performance.now()
    const pushes = []
    for (let k = 0; performance.now() - t0 < DURATION; k++) {
      pushes.push(typeOne(editor, k))
      // A tick missed because the generator was busy is skipped, not sent in a burst (the socket's
      // per-user budget is 10 calls a second).
      let wait = start + ((k + 1) * 1000) / RATE - performance.now()
      while (wait < 0) {
        k++
        wait += 1000 / RATE
      }
      await new Promise(r => setTimeout(r, wait))
    }
    await Promise.all(pushes)
  }))
  const seconds = (performance.now() - t0) / 1000
  const cpu = (cpuTicks(pid) - cpu0) / 100
  // Let the last updates arrive.
  const expected = sentAt.size * (EDITORS - 1)
  const deadline = Date.now() + 10_000
  while (received < expected && Date.now() < deadline) await new Promise(r => setTimeout(r, 100))
  const texts = new Set(editors.slice(0, OBSERVERS).map(e => e.doc.getText('description').toString()))
  for (const e of editors) e.socket.close()
  stop()
  delays.sort((a, b) => a - b)
  console.log(`Typing: ${EDITORS} editors × ${RATE} keystrokes/s for ${seconds.toFixed(1)} s = ${sentAt.size} updates (${(sentAt.size / seconds).toFixed(0)}/s), ${failures} failed`)
  console.log(`  delivered ${received} of ${expected} (update × other editor); the ${OBSERVERS} observers end with the same text: ${texts.size === 1 ? 'yes' : `NO (${texts.size} versions)`}`)
  console.log(`  update delay (send → other editors' streams): p50 ${ms(pct(delays, 50))}, p99 ${ms(pct(delays, 99))}, max ${ms(delays.at(-1))}`)
  console.log(`  server CPU: ${cpu.toFixed(1)} s over ${seconds.toFixed(1)} s = ${((cpu / seconds) * 100).toFixed(0)} % of one core`)
}

function size() {
  const doc = new Y.Doc()
  const text = doc.getText('description')
  const stored = []
  doc.on('update', u => stored.push(u))
  let cursor = 0
  const rows = []
  const checkpoints = new Set([1000, 2500, 5000, 10_000, EDITS])
  for (let k = 1; k <= EDITS; k++) {
    if (Math.random() < 0.03) cursor = Math.floor(Math.random() * (text.length + 1)) // click elsewhere
    if (k % 5 === 0 && cursor > 0) {
      text.delete(cursor - 1, 1)
      cursor--
    }
    else {
      text.insert(cursor, k % 7 === 0 ? ' ' : String.fromCharCode(97 + (k % 26)))
      cursor++
    }
    if (checkpoints.has(k)) {
      const raw = stored.reduce((s, u) => s + u.byteLength, 0)
      const merged = new Y.Doc()
      Y.transact(merged, () => {
        for (const u of stored) Y.applyUpdate(merged, u)
      })
      const snapshot = Y.encodeStateAsUpdate(merged).byteLength
      merged.destroy()
      rows.push({ k, chars: text.length, raw, snapshot })
    }
  }
  console.log(`\nSize: ${EDITS} one-character edits by one editor (1 in 5 a backspace, cursor moved now and then), stored as one row each`)
  console.log('| edits | text (chars) | stored updates (bytes) | after compaction (bytes) | ratio |')
  console.log('|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.k} | ${r.chars} | ${r.raw} | ${r.snapshot} | ${(r.raw / r.snapshot).toFixed(1)}× |`)
}

if (args.only !== 'size') await typing()
if (args.only !== 'typing') size()
console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator on the same cores, other work running.`)
process.exit(0)
