// k6 version of `npm run bench:ws` for any deployment (k6 ≥ 0.52, which has `k6/websockets`):
//   k6 run -e BASE_URL=https://tasks.example.com -e USERS=benchuser -e PASSWORD=… -e SOCKETS=1000 tests/load/ws-fanout.js
// `SOCKETS` virtual users each sign in as `${USERS}${vu % USER_COUNT}` (create those accounts and add
// them to PROJECT_ID first, or let setup() register them with REGISTER=1), open the tRPC WebSocket
// and subscribe to `project.onEvent`. A writer scenario updates a task's title to its send time at
// RATE per second; each socket records `event_latency` = receive time − send time (k6 runs every VU
// on one clock). Thresholds mirror the targets.
import http from 'k6/http'
import { check } from 'k6'
import { Counter, Trend } from 'k6/metrics'
import { WebSocket } from 'k6/websockets'

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:3000'
const WS_URL = `${BASE.replace(/^http/, 'ws')}/api/trpc-ws`
const SOCKETS = Number(__ENV.SOCKETS || 1000)
const USER_COUNT = Number(__ENV.USER_COUNT || Math.ceil(SOCKETS / 25))
const USERS = __ENV.USERS || 'benchuser'
const PASSWORD = __ENV.PASSWORD || 'benchmark-password'
const RATE = Number(__ENV.RATE || 5)
const DURATION = __ENV.DURATION || '60s'

const latency = new Trend('event_latency', true)
const deliveries = new Counter('deliveries')
const started = new Counter('subscriptions_started')
const errors = new Counter('ws_errors')

export const options = {
  scenarios: {
    subscribers: { executor: 'per-vu-iterations', vus: SOCKETS, iterations: 1, maxDuration: '10m', exec: 'subscriber' },
    writer: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: DURATION, startTime: '30s', preAllocatedVUs: 4, exec: 'writer' },
  },
  thresholds: {
    event_latency: [SOCKETS > 1000 ? 'p(99)<250' : 'p(99)<100'],
    ws_errors: ['count==0'],
  },
}

/** tRPC over HTTP with superjson: plain JSON values serialize as { json }. */
function trpc(path, input, cookie) {
  const res = http.post(`${BASE}/api/trpc/${path}`, JSON.stringify({ json: input }), {
    headers: { 'content-type': 'application/json', cookie: cookie || '' },
  })
  const body = res.json()
  if (body.error) throw new Error(`${path}: ${JSON.stringify(body.error)}`)
  const setCookie = res.headers['Set-Cookie']
  return { data: body.result.data.json, cookie: setCookie ? setCookie.split(';')[0] : cookie }
}

export function setup() {
  const owner = trpc('auth.login', { login: __ENV.OWNER || `${USERS}owner`, password: PASSWORD })
  const projectId = __ENV.PROJECT_ID
  const task = __ENV.TASK_ID
    ? { id: __ENV.TASK_ID }
    : trpc('task.create', { projectId, title: 'k6 fan-out' }, owner.cookie).data
  const cookies = []
  for (let i = 0; i < USER_COUNT; i++) cookies.push(trpc('auth.login', { login: `${USERS}${i}`, password: PASSWORD }).cookie)
  return { projectId, taskId: task.id, ownerCookie: owner.cookie, cookies }
}

export function subscriber(data) {
  const ws = new WebSocket(WS_URL, null, { headers: { cookie: data.cookies[__VU % data.cookies.length], origin: BASE } })
  ws.onopen = () => {
    ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'project.onEvent', input: { json: { projectId: data.projectId } } } }))
  }
  ws.onmessage = (message) => {
    if (message.data === 'PING') return ws.send('PONG')
    const frame = JSON.parse(message.data)
    if (frame.error) return errors.add(1)
    if (frame.result?.type === 'started') return started.add(1)
    const title = frame.result?.data?.json?.data?.data?.changes?.title?.to
    if (title && title.startsWith('k6-')) {
      latency.add(Date.now() - Number(title.slice(3)))
      deliveries.add(1)
    }
  }
  ws.onerror = () => errors.add(1)
  // Stay subscribed through the writer's run, then leave.
  setTimeout(() => ws.close(), 30_000 + Number.parseInt(DURATION) * 1000 + 5_000)
}

export function writer(data) {
  // A fresh version each time: read, then update on that version.
  const current = http.get(`${BASE}/api/trpc/task.byId?input=${encodeURIComponent(JSON.stringify({ json: { id: data.taskId } }))}`, { headers: { cookie: data.ownerCookie } }).json()
  const version = current.result.data.json.version
  const res = http.post(`${BASE}/api/trpc/task.update`, JSON.stringify({ json: { id: data.taskId, baseVersion: version, patch: { title: `k6-${Date.now()}` } } }), {
    headers: { 'content-type': 'application/json', cookie: data.ownerCookie },
  })
  check(res, { 'update accepted': r => r.status === 200 })
}
