// The acceptance test of issue 4 (concurrent edits without lost updates), against the production
// build on a throwaway PostgreSQL: 20 clients over WebSocket make 50 random edits each to the same
// 5 tasks, with random delays and stale versions, five times over. Afterwards every client's local
// state (its own accepted results + project.onEvent) equals the database, every accepted write is in
// the log, every write that was not applied was answered CONFLICT (with correct base / theirs / mine),
// and no field holds a value that no accepted write set.
import { createTRPCClient, createWSClient, TRPCClientError, wsLink, type TRPCClient } from '@trpc/client'
import pg from 'pg'
import superjson from 'superjson'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mergeText } from '../../server/services/merge'
import type { AppRouter } from '../../server/trpc/routers/_app'
import { fromWireEvent, type ProjectEvent } from '../../shared/events'
import { priorityValues, taskStatusValues, type TaskStatus } from '../../shared/schemas/common'
import type { TaskConflictDetails, TaskPatch } from '../../shared/schemas/task'
import { findPostgresBin, startPostgres, type PostgresServer } from '../setup/postgres'
import { startAppServer, type AppServer } from './appServer'
import { httpClient, webSocketWithHeaders } from './helpers'

const CLIENTS = 20
const EDITS = 50
const TASKS = 5
const ROUNDS = 5
const MAX_DELAY_MS = 20
/** Share of edits sent with a deliberately older baseVersion than the client has. */
const STALE_SHARE = 0.3
const MOVE_SHARE = 0.1
const CONVERGE_MS = 20_000

const hasPostgres = findPostgresBin() !== null
if (!hasPostgres) {
  if (process.env.CI) throw new Error('PostgreSQL binaries are missing in CI (apt-get install -y postgresql)')
  console.warn('[tests] skipping the concurrent-edits acceptance test: install PostgreSQL (apt-get install -y postgresql)')
}

const FIELDS = ['title', 'description', 'status', 'priority', 'assigneeId', 'dueDate', 'labels'] as const
type Field = typeof FIELDS[number]

/** A task as compared here: dates as ISO strings (how the log stores them). */
interface Snapshot {
  title: string
  description: string
  status: string
  priority: string
  assigneeId: string | null
  dueDate: string | null
  labels: string[]
  position: string
  version: number
}
type Value = Snapshot[keyof Snapshot]

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : (value as string | null))
const normalize = (field: string, value: unknown): unknown => (field === 'dueDate' ? iso(value) : value)
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

function snapshot(task: { [K in keyof Snapshot]: unknown }): Snapshot {
  return {
    title: task.title as string,
    description: task.description as string,
    status: task.status as string,
    priority: task.priority as string,
    assigneeId: task.assigneeId as string | null,
    dueDate: iso(task.dueDate),
    labels: [...(task.labels as string[])],
    position: task.position as string,
    version: task.version as number,
  }
}

/** Seeded, so a failing round can be replayed (the seed is in the test name). */
function mulberry32(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** A call rejected by the per-user socket rate limit never reached the procedure: send it again when allowed. */
async function withinRateLimit<T>(send: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await send()
    }
    catch (error) {
      if (!(error instanceof TRPCClientError) || error.data?.code !== 'TOO_MANY_REQUESTS') throw error
      const seconds = Number(/retry in ([\d.]+) s/.exec(error.message)?.[1] ?? 1)
      await delay(seconds * 1000)
    }
  }
}

interface Call {
  client: number
  kind: 'update' | 'move'
  taskId: string
  baseVersion: number
  patch: TaskPatch
  status?: TaskStatus
  outcome?: 'accepted' | 'conflict'
  result?: Snapshot
  details?: TaskConflictDetails<Record<string, unknown>>
}

interface User {
  id: string
  username: string
  cookie: string
}

/** One editing client: a WebSocket, a local copy of the tasks, and the record of its calls. */
class EditingClient {
  readonly state = new Map<string, Snapshot>()
  readonly calls: Call[] = []
  readonly problems: string[] = []
  lastSeq: number
  private socket!: ReturnType<typeof createWSClient>
  private trpc!: TRPCClient<AppRouter>
  private waiters: (() => void)[] = []

  constructor(readonly index: number, readonly user: User, private readonly baseUrl: string, private readonly projectId: string, startSeq: number) {
    this.lastSeq = startSeq
  }

  async open(taskIds: string[]) {
    this.socket = createWSClient({
      url: `${this.baseUrl.replace(/^http/, 'ws')}/api/trpc-ws`,
      WebSocket: webSocketWithHeaders({ cookie: this.user.cookie }),
      retryDelayMs: () => 200,
    })
    this.trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: this.socket, transformer: superjson })] })
    await new Promise<void>((resolve, reject) => {
      this.trpc.project.onEvent.subscribe({ projectId: this.projectId, lastEventId: String(this.lastSeq) }, {
        onStarted: () => resolve(),
        onData: ({ data }) => this.receive(fromWireEvent(data)),
        onError: (error) => {
          this.problems.push(`subscription failed: ${error.message}`)
          reject(error)
        },
      })
    })
    for (const id of taskIds) this.adopt(await withinRateLimit(() => this.trpc.task.byId.query({ id })), id)
  }

  close() {
    this.socket.close()
  }

  /** A project event: applied when it is newer than what the client has for that task. */
  private receive(event: ProjectEvent) {
    if (event.seq !== this.lastSeq + 1) this.problems.push(`seq ${event.seq} after ${this.lastSeq}`)
    this.lastSeq = event.seq
    const local = this.state.get(event.entityId)
    if (local && (event.type === 'task.updated' || event.type === 'task.moved')) {
      const data = event.data as { version: number, changes: Record<string, { to: unknown }> }
      if (data.version > local.version + 1) this.problems.push(`task ${event.entityId} jumped from v${local.version} to v${data.version}`)
      if (data.version > local.version) {
        for (const [field, { to }] of Object.entries(data.changes)) (local as unknown as Record<string, unknown>)[field] = normalize(field, to)
        local.version = data.version
      }
    }
    for (const wake of this.waiters.splice(0)) wake()
  }

  /** A task the server answered with (a result, or the current task of a conflict). */
  private adopt(task: { [K in keyof Snapshot]: unknown }, id: string) {
    const local = this.state.get(id)
    if (!local || (task.version as number) > local.version) this.state.set(id, snapshot(task))
  }

  async untilSeq(seq: number) {
    const deadline = Date.now() + CONVERGE_MS
    while (this.lastSeq < seq) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`client ${this.index} stopped at seq ${this.lastSeq}, expected ${seq}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  async edit(random: () => number, taskIds: string[], memberIds: string[]) {
    for (let i = 0; i < EDITS; i++) {
      await delay(random() * MAX_DELAY_MS)
      const taskId = taskIds[Math.floor(random() * taskIds.length)]!
      const local = this.state.get(taskId)!
      const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!
      const stale = random() < STALE_SHARE
      const baseVersion = stale ? Math.max(1, local.version - 1 - Math.floor(random() * 3)) : local.version
      const call: Call = { client: this.index, kind: 'update', taskId, baseVersion, patch: {} }
      if (random() < MOVE_SHARE) {
        call.kind = 'move'
        call.status = pick(taskStatusValues)
      }
      else {
        const tag = `c${this.index} e${i}`
        const fields = [...FIELDS].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 3))
        const patch: Record<string, unknown> = {}
        for (const field of fields) {
          if (field === 'title') patch.title = `Title ${tag}`
          if (field === 'description') {
            const lines = local.description.split('\n')
            const k = Math.floor(random() * lines.length)
            lines[k] = `line ${k}: ${tag}`
            patch.description = lines.join('\n')
          }
          if (field === 'status') patch.status = pick(taskStatusValues)
          if (field === 'priority') patch.priority = pick(priorityValues)
          if (field === 'assigneeId') patch.assigneeId = pick([null, ...memberIds])
          if (field === 'dueDate') patch.dueDate = random() < 0.2 ? null : new Date(Date.UTC(2030, 0, 1) + (this.index * EDITS + i) * 86_400_000)
          if (field === 'labels') patch.labels = random() < 0.2 ? [] : [`c${this.index}`, `e${i}`]
        }
        call.patch = patch as TaskPatch
      }
      this.calls.push(call)
      try {
        const result = call.kind === 'move'
          ? await withinRateLimit(() => this.trpc.task.move.mutate({ id: taskId, status: call.status! }))
          : await withinRateLimit(() => this.trpc.task.update.mutate({ id: taskId, baseVersion, patch: call.patch }))
        call.outcome = 'accepted'
        call.result = snapshot(result)
        this.adopt(result, taskId)
      }
      catch (error) {
        if (!(error instanceof TRPCClientError) || error.data?.code !== 'CONFLICT' || call.kind === 'move') {
          throw new Error(`client ${this.index}: ${call.kind} of ${taskId} failed with ${(error as TRPCClientError<AppRouter>).data?.code}: ${(error as Error).message}`, { cause: error })
        }
        call.outcome = 'conflict'
        call.details = error.data.details as TaskConflictDetails<Record<string, unknown>>
        this.adopt(call.details.current as never, taskId)
      }
    }
  }
}

describe.runIf(hasPostgres)('concurrent edits: 20 clients × 50 edits on 5 tasks over WebSocket, PostgreSQL', () => {
  let postgres: PostgresServer | undefined
  let server: AppServer | undefined
  let db: pg.Client
  const users: User[] = []
  /** users[0] over HTTP: creates each round's project and tasks */
  let owner: ReturnType<typeof httpClient>

  beforeAll(async () => {
    postgres = await startPostgres()
    server = await startAppServer({ DATABASE_URL: postgres.url('postgres') })
    db = new pg.Client({ connectionString: postgres.url('postgres') })
    await db.connect()
    for (let i = 0; i < CLIENTS; i++) {
      const http = httpClient(server.baseUrl)
      const username = `edit${i}${Math.random().toString(36).slice(2, 8)}`
      const me = await http.client.auth.register.mutate({ email: `${username}@example.test`, username, name: `Editor ${i}`, password: 'correct horse battery' })
      users.push({ id: me.id, username, cookie: http.cookie() })
      if (i === 0) owner = http
    }
  })
  afterAll(async () => {
    await db?.end()
    await server?.stop()
    await postgres?.stop()
  })

  async function databaseTasks(projectId: string): Promise<Map<string, Snapshot>> {
    const { rows } = await db.query(
      `SELECT id, title, description, status::text AS status, priority::text AS priority, "assigneeId", labels, position, version,
              to_char("dueDate", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "dueDate"
         FROM "Task" WHERE "projectId" = $1`,
      [projectId],
    )
    return new Map(rows.map(row => [row.id as string, snapshot(row)]))
  }

  async function round(seed: number) {
    const setupStarted = Date.now()
    const project = await owner.client.project.create.mutate({ name: `Concurrent ${seed}` })
    for (const user of users.slice(1)) await owner.client.member.add.mutate({ projectId: project.id, username: user.username, role: 'MEMBER' })
    const description = Array.from({ length: 6 }, (_, k) => `line ${k}: original`).join('\n')
    const tasks = []
    for (let t = 0; t < TASKS; t++) tasks.push(await owner.client.task.create.mutate({ projectId: project.id, title: `Task ${t}`, description, labels: ['start'] }))
    const initial = new Map(tasks.map(t => [t.id, snapshot(t)]))
    const taskIds = tasks.map(t => t.id)
    const startSeq = (await owner.client.project.byId.query({ id: project.id })).eventSeq

    const clients = users.map((user, i) => new EditingClient(i, user, server!.baseUrl, project.id, startSeq))
    const timings: Record<string, number> = { setup: (Date.now() - setupStarted) / 1000 }
    let mark = Date.now()
    const lap = (name: string) => {
      timings[name] = (Date.now() - mark) / 1000
      mark = Date.now()
    }
    try {
      await Promise.all(clients.map(c => c.open(taskIds)))
      lap('open')
      await Promise.all(clients.map((c, i) => c.edit(mulberry32(seed * 100 + i), taskIds, users.map(u => u.id))))
      lap('edit')

      const finalTasks = await databaseTasks(project.id)
      const { rows: [{ eventSeq }] } = await db.query('SELECT "eventSeq" FROM "Project" WHERE id = $1', [project.id])
      const { rows: events } = await db.query<{ seq: number, type: string, actorId: string, entityId: string, data: { version: number, changes: Record<string, { from: unknown, to: unknown }> } }>(
        'SELECT seq, type, "actorId", "entityId", data FROM "ProjectEvent" WHERE "projectId" = $1 AND seq > $2 ORDER BY seq',
        [project.id, startSeq],
      )
      expect(events.map(e => e.seq)).toEqual(Array.from({ length: eventSeq - startSeq }, (_, i) => startSeq + 1 + i))
      expect(events.every(e => (e.type === 'task.updated' || e.type === 'task.moved') && taskIds.includes(e.entityId))).toBe(true)

      // 1. Every client's local state equals the database, once it has seen the last event.
      await Promise.all(clients.map(c => c.untilSeq(eventSeq)))
      lap('converge')
      for (const c of clients) {
        expect(c.problems, `client ${c.index}`).toEqual([])
        for (const id of taskIds) expect(c.state.get(id), `client ${c.index}, task ${id}`).toEqual(finalTasks.get(id))
      }

      // Replaying the log over the created tasks gives the database; the state at each version is kept.
      const history = new Map(taskIds.map(id => [id, [initial.get(id)!]]))
      for (const e of events) {
        const versions = history.get(e.entityId)!
        const next = { ...versions.at(-1)! }
        expect(e.data.version, `event ${e.seq}`).toBe(next.version + 1)
        for (const [field, { from, to }] of Object.entries(e.data.changes)) {
          expect(from, `event ${e.seq}: ${field}.from`).toEqual((next as unknown as Record<string, unknown>)[field])
          ;(next as unknown as Record<string, unknown>)[field] = to
        }
        next.version = e.data.version
        versions.push(next)
      }
      for (const id of taskIds) expect(history.get(id)!.at(-1)).toEqual(finalTasks.get(id))
      const at = (id: string, version: number) => history.get(id)![version - 1]!

      // 2. Every accepted write is in the log (one event, its actor, its version, only values it sent),
      //    and every logged write is an accepted call.
      const calls = clients.flatMap(c => c.calls)
      expect(calls).toHaveLength(CLIENTS * EDITS)
      const eventByVersion = new Map(events.map(e => [`${e.entityId}@${e.data.version}`, e]))
      const matched = new Set<number>()
      const setValues = new Map<string, Value[]>()
      let merges = 0
      for (const call of calls.filter(c => c.outcome === 'accepted')) {
        const result = call.result!
        const event = eventByVersion.get(`${call.taskId}@${result.version}`)
        const mine = event?.actorId === users[call.client]!.id && !matched.has(event.seq) ? event : undefined
        if (call.kind === 'move') {
          expect(result.status).toBe(call.status)
          if (mine) {
            expect(mine.type).toBe('task.moved')
            matched.add(mine.seq)
          }
          continue
        }
        const base = at(call.taskId, call.baseVersion)
        if (mine) {
          expect(mine.type).toBe('task.updated')
          matched.add(mine.seq)
          for (const [field, { to }] of Object.entries(mine.data.changes)) {
            // A status change also puts the card at the end of its new column.
            expect([...Object.keys(call.patch), ...('status' in mine.data.changes ? ['position'] : [])], `event ${mine.seq} changed ${field}`).toContain(field)
            if (field === 'position') continue
            if (field === 'description') {
              // The three-way merge of what the writer had (base), what was there (theirs) and what it sent.
              const theirs = at(call.taskId, result.version - 1).description
              expect(to, `event ${mine.seq}: description`).toBe(mergeText(base.description, theirs, call.patch.description!))
              if (to !== call.patch.description) merges++
            }
            else {
              expect(to, `event ${mine.seq}: ${field}`).toEqual(normalize(field, call.patch[field as keyof TaskPatch]))
            }
          }
        }
        // A patch field the write did not change already had its value, or the writer sent the base value back.
        for (const field of Object.keys(call.patch) as Field[]) {
          if (mine && field in mine.data.changes) continue
          const sent = normalize(field, call.patch[field])
          if (field === 'description') expect(mergeText(base.description, result.description, sent as string), 'description of an accepted write').toBe(result.description)
          else expect(same(result[field], sent) || same(base[field], sent), `${field} of an accepted write`).toBe(true)
        }
      }
      for (const e of events) {
        expect(matched.has(e.seq), `event ${e.seq} (${e.type} v${e.data.version}) belongs to no accepted call`).toBe(true)
        for (const [field, { to }] of Object.entries(e.data.changes)) setValues.set(field, [...(setValues.get(field) ?? []), to as Value])
      }

      // 3. Every write that was not applied was answered CONFLICT, with base / theirs / mine right.
      const conflicts = calls.filter(c => c.outcome === 'conflict')
      for (const call of conflicts) {
        const { current, conflicts: fields } = call.details!
        expect(fields.length).toBeGreaterThan(0)
        const now = at(call.taskId, current.version as number)
        expect(snapshot(current as never)).toEqual(now)
        const base = at(call.taskId, call.baseVersion)
        for (const f of fields) {
          const field = f.field as Field
          expect(Object.keys(call.patch)).toContain(field)
          expect(normalize(field, f.mine)).toEqual(normalize(field, call.patch[field]))
          expect(normalize(field, f.base)).toEqual(base[field])
          expect(normalize(field, f.theirs.value)).toEqual(now[field])
          expect(f.theirs.at).toBeInstanceOf(Date)
          expect(users.map(u => u.id)).toContain(f.theirs.actor?.id)
        }
      }

      // 4. No field holds a value that no accepted write set (or the task was created with).
      for (const [id, task] of finalTasks) {
        for (const field of [...FIELDS, 'position'] as const) {
          const allowed = [initial.get(id)![field], ...(setValues.get(field) ?? [])]
          expect(allowed.some(v => same(v, task[field])), `task ${id} ${field} = ${JSON.stringify(task[field])}`).toBe(true)
        }
      }

      lap('verify')
      return { accepted: calls.length - conflicts.length, conflicts: conflicts.length, events: events.length, merges, timings }
    }
    finally {
      for (const c of clients) c.close()
    }
  }

  for (let r = 1; r <= ROUNDS; r++) {
    const seed = (Date.now() % 100_000) * 10 + r
    it(`round ${r} (seed ${seed}): local states equal the database, accepted writes are logged, the rest got CONFLICT`, async () => {
      const stats = await round(seed)
      console.info(`[concurrentEdits] round ${r}:`, stats)
      // The rounds must really exercise both outcomes and the description merge.
      expect(stats.accepted).toBeGreaterThan(0)
      expect(stats.conflicts).toBeGreaterThan(0)
    })
  }
})
