import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { watchStatus } from '../../server/notifications/service'
import { appendEvent, lockProject, transaction } from '../../server/services/events'
import { getTask } from '../../server/services/task'
import type { Database, DbTx } from '../../server/utils/db'
import { failure, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable, usingPostgres } from '../setup/testDb'

type User = Awaited<ReturnType<typeof signUp>>

describe.runIf(databaseAvailable)('tasks', () => {
  let db: Database
  let owner: User
  let member: User
  let viewer: User
  let outsider: User

  beforeAll(async () => {
    db = await createTestDatabase()
    ;[owner, member, viewer, outsider] = [await signUp(db), await signUp(db), await signUp(db), await signUp(db)]
  })
  afterAll(() => db?.close())

  /** A project of its own per test (no sign-ups needed): owner, member and viewer on the team. */
  async function freshProject(name = 'Board test') {
    const project = await owner.caller.project.create({ name })
    await owner.caller.member.add({ projectId: project.id, username: member.user.username, role: 'MEMBER' })
    await owner.caller.member.add({ projectId: project.id, username: viewer.user.username, role: 'VIEWER' })
    return project
  }
  const titles = (tasks: { title: string }[]) => tasks.map(t => t.title)

  describe('create, read, update, delete', () => {
    it('creates a task with defaults, numbered per project', async () => {
      const project = await freshProject('Website relaunch')
      const first = await member.caller.task.create({ projectId: project.id, title: '  First  ' })
      expect(first).toMatchObject({
        projectId: project.id,
        number: 1,
        title: 'First',
        description: '',
        status: 'TODO',
        priority: 'NONE',
        assigneeId: null,
        assignee: null,
        dueDate: null,
        labels: [],
        version: 1,
        createdById: member.user.id,
      })
      const due = new Date('2030-01-02T03:04:05.000Z')
      const second = await owner.caller.task.create({
        projectId: project.id,
        title: 'Second',
        description: 'Details',
        status: 'IN_REVIEW',
        priority: 'HIGH',
        assigneeId: member.user.id,
        dueDate: due,
        labels: ['bug', 'ui', 'bug'],
      })
      expect(second).toMatchObject({
        number: 2,
        status: 'IN_REVIEW',
        priority: 'HIGH',
        assignee: { id: member.user.id, username: member.user.username, name: member.user.name },
        dueDate: due,
        labels: ['bug', 'ui'],
      })
      expect(await viewer.caller.task.byId({ id: second.id })).toEqual(second)
      expect((await owner.caller.project.list()).find(p => p.id === project.id)?.taskCount).toBe(2)
    })

    it('stores HTML in titles exactly as given (escaping is the client\'s job)', async () => {
      const project = await freshProject()
      const title = '<img src=x onerror="alert(1)"> & <b>bold</b>'
      const task = await owner.caller.task.create(taskInput(project.id, { title, description: '<script>x()</script>' }))
      expect(await owner.caller.task.byId({ id: task.id })).toMatchObject({ title, description: '<script>x()</script>' })
      expect(titles(await owner.caller.task.list({ projectId: project.id }))).toEqual([title])
    })

    it('update changes only the given fields and bumps the version by one per accepted write', async () => {
      const project = await freshProject()
      const task = await member.caller.task.create(taskInput(project.id, { title: 'Draft', labels: ['a'] }))
      const v2 = await member.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Final', priority: 'URGENT' } })
      expect(v2).toMatchObject({ title: 'Final', priority: 'URGENT', labels: ['a'], version: 2 })
      const v3 = await owner.caller.task.update({ id: task.id, baseVersion: 2, patch: { assigneeId: member.user.id, dueDate: new Date('2031-05-01') } })
      expect(v3).toMatchObject({ title: 'Final', assigneeId: member.user.id, version: 3 })
      // What the write answers is what it stored (each column written with its type).
      expect(await owner.caller.task.byId({ id: task.id })).toEqual(v3)
      const v3b = await owner.caller.task.update({ id: task.id, baseVersion: 3, patch: { status: 'IN_REVIEW', labels: ['a', 'b c'] } })
      expect(await owner.caller.task.byId({ id: task.id })).toEqual(v3b)
      const v4 = await owner.caller.task.update({ id: task.id, baseVersion: 4, patch: { assigneeId: null, dueDate: null, labels: [] } })
      expect(v4).toMatchObject({ assigneeId: null, dueDate: null, labels: [], version: 5 })
      expect(await owner.caller.task.byId({ id: task.id })).toEqual(v4)
    })

    it('an update that changes nothing keeps the version', async () => {
      const project = await freshProject()
      const due = new Date('2030-06-01T00:00:00.000Z')
      const task = await owner.caller.task.create(taskInput(project.id, { title: 'Same', labels: ['x', 'y'], dueDate: due }))
      const same = await owner.caller.task.update({
        id: task.id,
        baseVersion: 1,
        patch: { title: ' Same ', labels: ['x', 'y'], dueDate: new Date(due.getTime()), status: 'TODO' },
      })
      expect(same.version).toBe(1)
      expect((await owner.caller.task.byId({ id: task.id })).version).toBe(1)
    })

    it('a stale edit of a field someone else changed is a CONFLICT and the newer edit survives (merge rules: taskMerge.test.ts)', async () => {
      const project = await freshProject()
      const task = await owner.caller.task.create(taskInput(project.id, { title: 'Original' }))
      await member.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Member edit' } })
      const f = await failure(owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Owner edit' } }))
      expect(f.code).toBe('CONFLICT')
      expect(f.data.details).toMatchObject({ current: { title: 'Member edit', version: 2 } })
      expect((await owner.caller.task.byId({ id: task.id })).title).toBe('Member edit')
      expect((await failure(owner.caller.task.update({ id: task.id, baseVersion: 3, patch: { title: 'From the future' } }))).code).toBe('BAD_REQUEST')
    })

    it('of two concurrent edits from the same version exactly one wins', async () => {
      const project = await freshProject()
      const task = await owner.caller.task.create(taskInput(project.id))
      const results = await Promise.allSettled([
        owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Owner' } }),
        member.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'Member' } }),
      ])
      const won = results.filter(r => r.status === 'fulfilled')
      expect(won).toHaveLength(1)
      const after = await owner.caller.task.byId({ id: task.id })
      expect(after.version).toBe(2)
      expect(after.title).toBe((won[0] as PromiseFulfilledResult<{ title: string }>).value.title)
    })

    /**
     * Runs `held` in a transaction that holds the project lock, starts `waiting` once it does, lets
     * go when `waiting` is seen waiting for a lock, and answers what `waiting` answered.
     */
    async function behindLock<T>(projectId: string, held: (tx: DbTx) => Promise<void>, waiting: () => Promise<T>): Promise<T> {
      let release!: () => void
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      let locked!: () => void
      const holding = new Promise<void>((resolve) => {
        locked = resolve
      })
      const first = transaction(db.prisma, async (tx) => {
        await lockProject(tx, projectId)
        await held(tx)
        locked()
        await released
      })
      await holding
      const second = waiting()
      await vi.waitFor(async () => {
        const [row] = await db.prisma.$queryRaw<{ waiting: number }[]>`
          SELECT count(*)::int AS "waiting" FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`
        expect(row?.waiting).toBe(1)
      }, { timeout: 10_000, interval: 20 })
      release()
      await first
      return second
    }

    // Two connections are needed for one write to wait for another's lock: PostgreSQL only.
    it.runIf(usingPostgres)('a write that waited for the project lock works on the task as the write before it left it', async () => {
      const project = await freshProject()
      const task = await owner.caller.task.create(taskInput(project.id, { title: 'Before', priority: 'NONE' }))
      // Another writer holds the lock: it assigns the task and renames it, as task.update would.
      const second = await behindLock(project.id, async (tx) => {
        await tx.task.update({ where: { id: task.id }, data: { title: 'Held', assigneeId: member.user.id, version: 2 } })
        await appendEvent(tx, {
          projectId: project.id,
          type: 'task.updated',
          actorId: owner.user.id,
          entityType: 'task',
          entityId: task.id,
          data: { version: 2, changes: { title: { from: 'Before', to: 'Held' }, assigneeId: { from: null, to: member.user.id } } },
        })
      }, () => owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { priority: 'HIGH' } }))
      // Read before the wait, the task would be at version 1 (a CONFLICT) or keep its old assignee.
      expect(second).toMatchObject({ version: 3, title: 'Held', priority: 'HIGH', assignee: { id: member.user.id, username: member.user.username } })
      expect(await owner.caller.task.byId({ id: task.id })).toMatchObject({ version: 3, title: 'Held', priority: 'HIGH', assigneeId: member.user.id })
    })

    it.runIf(usingPostgres)('a restore that waited behind another restore of the task changes nothing', async () => {
      const project = await freshProject()
      const task = await owner.caller.task.create(taskInput(project.id))
      await owner.caller.task.delete({ id: task.id })
      const restored = await behindLock(project.id, async (tx) => {
        await tx.task.update({ where: { id: task.id }, data: { deletedAt: null, version: 3 } })
      }, () => member.caller.task.restore({ id: task.id }))
      // Read before the wait, the task would still look deleted and be restored a second time.
      expect(restored.version).toBe(3)
      expect((await owner.caller.task.byId({ id: task.id })).version).toBe(3)
    })

    it('delete is soft: the task disappears from reads but the row stays', async () => {
      const project = await freshProject()
      const keep = await owner.caller.task.create(taskInput(project.id, { title: 'Keep' }))
      const gone = await owner.caller.task.create(taskInput(project.id, { title: 'Gone' }))
      expect(await member.caller.task.delete({ id: gone.id })).toEqual({ id: gone.id, projectId: project.id })

      expect(titles(await owner.caller.task.list({ projectId: project.id }))).toEqual(['Keep'])
      expect((await failure(owner.caller.task.byId({ id: gone.id }))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.update({ id: gone.id, baseVersion: 2, patch: { title: 'Back' } }))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.move({ id: gone.id, status: 'DONE' }))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.delete({ id: gone.id }))).code).toBe('NOT_FOUND')
      expect((await owner.caller.project.list()).find(p => p.id === project.id)?.taskCount).toBe(1)

      const row = await db.prisma.task.findUniqueOrThrow({ where: { id: gone.id } })
      expect(row.deletedAt).not.toBeNull()
      expect(row.version).toBe(2)
      expect(keep.number).toBe(1)
      // Numbers are never reused.
      expect((await owner.caller.task.create(taskInput(project.id))).number).toBe(3)
    })
  })

  describe('access', () => {
    it('viewers read but cannot write', async () => {
      const project = await freshProject()
      const task = await owner.caller.task.create(taskInput(project.id, { title: 'Visible' }))
      expect(titles(await viewer.caller.task.list({ projectId: project.id }))).toEqual(['Visible'])
      expect((await viewer.caller.task.byId({ id: task.id })).title).toBe('Visible')

      const attempts = [
        () => viewer.caller.task.create(taskInput(project.id)),
        () => viewer.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'No' } }),
        () => viewer.caller.task.move({ id: task.id, status: 'DONE' }),
        () => viewer.caller.task.delete({ id: task.id }),
      ]
      for (const attempt of attempts) expect((await failure(attempt())).code).toBe('FORBIDDEN')
      expect(await owner.caller.task.byId({ id: task.id })).toMatchObject({ title: 'Visible', status: 'TODO', version: 1 })
      expect(titles(await owner.caller.task.list({ projectId: project.id }))).toEqual(['Visible'])
    })

    it('non-members get NOT_FOUND for everything, like for ids that do not exist', async () => {
      const project = await freshProject()
      const task = await owner.caller.task.create(taskInput(project.id))
      const attempts = [
        () => outsider.caller.task.list({ projectId: project.id }),
        () => outsider.caller.task.byId({ id: task.id }),
        () => outsider.caller.task.create(taskInput(project.id)),
        () => outsider.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: 'No' } }),
        () => outsider.caller.task.move({ id: task.id, status: 'DONE' }),
        () => outsider.caller.task.delete({ id: task.id }),
      ]
      for (const attempt of attempts) expect((await failure(attempt())).code).toBe('NOT_FOUND')
      expect((await owner.caller.task.byId({ id: task.id })).version).toBe(1)
    })

    it('unknown ids are NOT_FOUND and name the id', async () => {
      const project = await freshProject()
      const f = await failure(owner.caller.task.byId({ id: 'missing-task-id' }))
      expect(f.code).toBe('NOT_FOUND')
      expect(f.message).toContain('missing-task-id')
      expect((await failure(owner.caller.task.update({ id: 'missing', baseVersion: 1, patch: { title: 'x' } }))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.move({ id: 'missing', status: 'TODO' }))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.delete({ id: 'missing' }))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.create(taskInput('missing-project')))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.list({ projectId: 'missing-project' }))).code).toBe('NOT_FOUND')
      expect(await owner.caller.task.list({ projectId: project.id })).toEqual([])
    })

    it('the assignee must be a member of the project', async () => {
      const project = await freshProject()
      const created = await failure(owner.caller.task.create(taskInput(project.id, { assigneeId: outsider.user.id })))
      expect(created.code).toBe('BAD_REQUEST')
      expect(Object.keys(created.fieldErrors!)).toEqual(['assigneeId'])
      expect(await owner.caller.task.list({ projectId: project.id })).toEqual([])

      const task = await owner.caller.task.create(taskInput(project.id, { assigneeId: viewer.user.id }))
      const updated = await failure(owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { assigneeId: 'no-such-user' } }))
      expect(updated.code).toBe('BAD_REQUEST')
      expect(Object.keys(updated.fieldErrors!)).toEqual(['assigneeId'])
      expect(await owner.caller.task.byId({ id: task.id })).toMatchObject({ assigneeId: viewer.user.id, version: 1 })
    })
  })

  describe('validation', () => {
    it('rejects bad task input with BAD_REQUEST and field errors', async () => {
      const project = await freshProject()
      const cases: [Record<string, unknown>, string][] = [
        [{ title: '   ' }, 'title'],
        [{ title: 'x'.repeat(201) }, 'title'],
        [{ status: 'BLOCKED' }, 'status'],
        [{ priority: 'CRITICAL' }, 'priority'],
        [{ labels: Array.from({ length: 11 }, (_, i) => `l${i}`) }, 'labels'],
        [{ labels: ['x'.repeat(33)] }, 'labels'],
        [{ projectId: '' }, 'projectId'],
        [{ projectId: 'x'.repeat(65) }, 'projectId'],
        [{ assigneeId: '' }, 'assigneeId'],
        [{ dueDate: 'not a date' }, 'dueDate'],
      ]
      for (const [override, field] of cases) {
        const f = await failure(owner.caller.task.create({ ...taskInput(project.id), ...override } as never))
        expect(f.code, JSON.stringify(override)).toBe('BAD_REQUEST')
        expect(Object.keys(f.fieldErrors!), JSON.stringify(override)).toEqual([field])
      }
      // Exactly at the limits is fine.
      const ok = await owner.caller.task.create(taskInput(project.id, { title: 'x'.repeat(200), labels: Array.from({ length: 10 }, (_, i) => `l${i}`) }))
      expect(ok.title).toHaveLength(200)
      expect(ok.labels).toHaveLength(10)
      expect(await owner.caller.task.list({ projectId: project.id })).toHaveLength(1)
    })

    it('rejects bad update, move and list input', async () => {
      const project = await freshProject()
      const task = await owner.caller.task.create(taskInput(project.id))
      const cases = [
        () => owner.caller.task.update({ id: task.id, baseVersion: 1, patch: {} }),
        () => owner.caller.task.update({ id: task.id, baseVersion: 1, patch: { title: '' } }),
        () => owner.caller.task.update({ id: task.id, baseVersion: 0, patch: { title: 'x' } }),
        () => owner.caller.task.move({ id: task.id, status: 'LATER' as never }),
        () => owner.caller.task.byId({ id: '' }),
        () => owner.caller.task.list({ projectId: project.id, status: ['NOPE' as never] }),
      ]
      for (const call of cases) {
        const f = await failure(call())
        expect(f.code).toBe('BAD_REQUEST')
        expect(Object.keys(f.fieldErrors!).length).toBeGreaterThan(0)
      }
      expect((await owner.caller.task.byId({ id: task.id })).version).toBe(1)
    })
  })

  describe('move', () => {
    it('places cards after, before or at the end of a column, and across columns', async () => {
      const project = await freshProject()
      const [a, b, c] = [await owner.caller.task.create(taskInput(project.id, { title: 'A' })), await owner.caller.task.create(taskInput(project.id, { title: 'B' })), await owner.caller.task.create(taskInput(project.id, { title: 'C' }))]
      const list = async () => titles(await owner.caller.task.list({ projectId: project.id }))
      expect(await list()).toEqual(['A', 'B', 'C'])

      const movedC = await owner.caller.task.move({ id: c.id, status: 'TODO', afterId: a.id })
      expect(movedC.version).toBe(2)
      expect(await list()).toEqual(['A', 'C', 'B'])

      await member.caller.task.move({ id: b.id, status: 'TODO', beforeId: a.id })
      expect(await list()).toEqual(['B', 'A', 'C'])

      await owner.caller.task.move({ id: b.id, status: 'TODO' })
      expect(await list()).toEqual(['A', 'C', 'B'])

      const movedA = await owner.caller.task.move({ id: a.id, status: 'IN_PROGRESS' })
      expect(movedA).toMatchObject({ status: 'IN_PROGRESS', version: 2 })
      await owner.caller.task.move({ id: b.id, status: 'IN_PROGRESS', beforeId: a.id })
      await owner.caller.task.move({ id: c.id, status: 'DONE' })
      const board = await owner.caller.task.list({ projectId: project.id })
      expect(board.map(t => [t.title, t.status])).toEqual([['B', 'IN_PROGRESS'], ['A', 'IN_PROGRESS'], ['C', 'DONE']])
      expect(await owner.caller.task.list({ projectId: project.id, status: ['TODO'] })).toEqual([])
    })

    it('moving a card to where it already is changes nothing', async () => {
      const project = await freshProject()
      const a = await owner.caller.task.create(taskInput(project.id, { title: 'A' }))
      const b = await owner.caller.task.create(taskInput(project.id, { title: 'B' }))
      expect((await owner.caller.task.move({ id: b.id, status: 'TODO' })).version).toBe(1)
      expect((await owner.caller.task.move({ id: b.id, status: 'TODO', afterId: a.id })).version).toBe(1)
    })

    it('rejects neighbours that are not in the target column', async () => {
      const project = await freshProject()
      const a = await owner.caller.task.create(taskInput(project.id, { title: 'A' }))
      const b = await owner.caller.task.create(taskInput(project.id, { title: 'B', status: 'DONE' }))
      const after = await failure(owner.caller.task.move({ id: a.id, status: 'IN_PROGRESS', afterId: b.id }))
      expect(after.code).toBe('BAD_REQUEST')
      expect(Object.keys(after.fieldErrors!)).toEqual(['afterId'])
      const before = await failure(owner.caller.task.move({ id: a.id, status: 'DONE', beforeId: 'someone-else' }))
      expect(Object.keys(before.fieldErrors!)).toEqual(['beforeId'])
      expect(await owner.caller.task.byId({ id: a.id })).toMatchObject({ status: 'TODO', version: 1 })
    })

    it('changing the status through update puts the card at the end of the new column', async () => {
      const project = await freshProject()
      const done = await owner.caller.task.create(taskInput(project.id, { title: 'Done first', status: 'DONE' }))
      const todo = await owner.caller.task.create(taskInput(project.id, { title: 'Finish me' }))
      await owner.caller.task.update({ id: todo.id, baseVersion: 1, patch: { status: 'DONE' } })
      expect(titles(await owner.caller.task.list({ projectId: project.id }))).toEqual(['Done first', 'Finish me'])
      await owner.caller.task.move({ id: todo.id, status: 'DONE', beforeId: done.id })
      expect(titles(await owner.caller.task.list({ projectId: project.id }))).toEqual(['Finish me', 'Done first'])
    })

    it('concurrent moves all land and the board stays consistent', async () => {
      const project = await freshProject()
      const cards = []
      for (const title of ['A', 'B', 'C', 'D']) cards.push(await owner.caller.task.create(taskInput(project.id, { title })))
      const [a, b, c, d] = cards as [typeof cards[0], typeof cards[0], typeof cards[0], typeof cards[0]]
      await Promise.all([
        owner.caller.task.move({ id: a.id, status: 'DONE' }),
        member.caller.task.move({ id: b.id, status: 'DONE' }),
        member.caller.task.move({ id: d.id, status: 'TODO', beforeId: c.id }),
      ])
      const board = await owner.caller.task.list({ projectId: project.id })
      expect(board.map(t => [t.title, t.status, t.version])).toEqual([
        ['D', 'TODO', 2],
        ['C', 'TODO', 1],
        expect.arrayContaining(['DONE', 2]),
        expect.arrayContaining(['DONE', 2]),
      ])
      expect(titles(board.slice(2)).sort()).toEqual(['A', 'B'])
      // The order is stable: listing twice gives the same board.
      expect(await owner.caller.task.list({ projectId: project.id })).toEqual(board)
      // And one can still drop a card between them.
      await owner.caller.task.move({ id: c.id, status: 'DONE', afterId: board[2]!.id })
      expect((await owner.caller.task.list({ projectId: project.id, status: ['DONE'] })).map(t => t.id)).toContain(c.id)
    })
  })

  it('cards dropped into one column at the same time get distinct places, so later drops land where aimed', async () => {
    const project = await freshProject()
    const cards = []
    for (const title of ['A', 'B', 'C', 'D', 'E']) cards.push(await owner.caller.task.create(taskInput(project.id, { title })))
    await Promise.all(cards.slice(0, 4).map((c, i) => (i % 2 ? owner : member).caller.task.move({ id: c.id, status: 'DONE' })))
    const done = await owner.caller.task.list({ projectId: project.id, status: ['DONE'] })
    expect(new Set(done.map(t => t.position)).size).toBe(4)
    // Drop E right after the first card in the column: it must land second.
    await owner.caller.task.move({ id: cards[4]!.id, status: 'DONE', afterId: done[0]!.id })
    const after = await owner.caller.task.list({ projectId: project.id, status: ['DONE'] })
    expect(after.map(t => t.id)).toEqual([done[0]!.id, cards[4]!.id, ...done.slice(1).map(t => t.id)])
  })

  describe('list filters', () => {
    it('filters by status, assignee (including unassigned), label and search text or number', async () => {
      const project = await freshProject('Search Me')
      const login = await owner.caller.task.create(taskInput(project.id, { title: 'Fix login redirect', labels: ['bug', 'auth'], assigneeId: member.user.id }))
      const docs = await owner.caller.task.create(taskInput(project.id, { title: 'Write docs', description: 'Explain the LOGIN flow', status: 'IN_PROGRESS', labels: ['docs'] }))
      const css = await owner.caller.task.create(taskInput(project.id, { title: 'Tidy CSS', status: 'DONE', labels: ['bug'], assigneeId: owner.user.id }))
      const list = async (filters: Record<string, unknown>) => titles(await viewer.caller.task.list({ projectId: project.id, ...filters }))

      expect(await list({})).toEqual(['Fix login redirect', 'Write docs', 'Tidy CSS'])
      expect(await list({ status: ['IN_PROGRESS', 'DONE'] })).toEqual(['Write docs', 'Tidy CSS'])
      expect(await list({ status: [] })).toHaveLength(3)
      expect(await list({ assigneeId: member.user.id })).toEqual(['Fix login redirect'])
      expect(await list({ assigneeId: null })).toEqual(['Write docs'])
      expect(await list({ label: 'bug' })).toEqual(['Fix login redirect', 'Tidy CSS'])
      expect(await list({ label: 'bug', status: ['DONE'] })).toEqual(['Tidy CSS'])
      expect(await list({ label: 'nope' })).toEqual([])
      expect(await list({ search: 'login' })).toEqual(['Fix login redirect', 'Write docs'])
      expect(await list({ search: 'tidy' })).toEqual(['Tidy CSS'])
      expect(await list({ search: String(css.number) })).toEqual(['Tidy CSS'])
      expect(await list({ search: `${project.key}-${docs.number}` })).toEqual(['Write docs'])
      expect(await list({ search: `sm-${login.number}` })).toEqual(['Fix login redirect'])
      expect(await list({ search: 'nothing matches this' })).toEqual([])
      expect(await list({ search: '#1' })).toEqual([])
      expect(await list({ search: '   ' })).toHaveLength(3)
    })

    it('finds a task by its reference when the project key contains digits', async () => {
      const project = await owner.caller.project.create({ name: 'Mobile', key: 'APP2' })
      await owner.caller.task.create(taskInput(project.id, { title: 'Splash screen' }))
      const second = await owner.caller.task.create(taskInput(project.id, { title: 'Push notifications' }))
      expect(titles(await owner.caller.task.list({ projectId: project.id, search: `APP2-${second.number}` }))).toEqual(['Push notifications'])
      expect(titles(await owner.caller.task.list({ projectId: project.id, search: `app2-${second.number}` }))).toEqual(['Push notifications'])
    })

    it('a non-member cannot read a list another member just loaded', async () => {
      const project = await freshProject()
      await owner.caller.task.create(taskInput(project.id, { title: 'Secret' }))
      expect(titles(await owner.caller.task.list({ projectId: project.id }))).toEqual(['Secret'])
      expect((await failure(outsider.caller.task.list({ projectId: project.id }))).code).toBe('NOT_FOUND')
    })
  })
  it('only "not a member" becomes NOT_FOUND: a database error during the access check stays an error', async () => {
    const project = await freshProject('Access errors')
    const task = await owner.caller.task.create(taskInput(project.id))
    // The same client, except that membership lookups fail the way a dropped connection does.
    const flaky = new Proxy(db.prisma, {
      get: (target, prop, receiver) => prop === 'projectMember'
        ? { findUnique: () => Promise.reject(new Error('Connection terminated unexpectedly')) }
        : Reflect.get(target, prop, receiver),
    })
    await expect(getTask(flaky, owner.user.id, task.id)).rejects.toThrow('Connection terminated unexpectedly')
    await expect(watchStatus(flaky, owner.user.id, task.id)).rejects.toThrow('Connection terminated unexpectedly')
    // With the real client the rule itself holds: an outsider gets NOT_FOUND, like a task that does not exist.
    await expect(getTask(db.prisma, outsider.user.id, task.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
