import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prefixTsQuery } from '../../server/services/taskSearch'
import type { Database } from '../../server/utils/db'
import { failure, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

type User = Awaited<ReturnType<typeof signUp>>

describe.runIf(databaseAvailable)('undo a delete and search across projects', () => {
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

  async function teamProject(name: string, key?: string) {
    const project = await owner.caller.project.create({ name, ...(key ? { key } : {}) })
    await owner.caller.member.add({ projectId: project.id, username: member.user.username, role: 'MEMBER' })
    await owner.caller.member.add({ projectId: project.id, username: viewer.user.username, role: 'VIEWER' })
    return project
  }
  const events = (projectId: string) => db.prisma.projectEvent.findMany({ where: { projectId }, orderBy: { seq: 'asc' } })

  describe('task.restore', () => {
    it('brings a deleted task back in its place, as a new version with a task.restored event', async () => {
      const project = await teamProject('Restore')
      const first = await owner.caller.task.create(taskInput(project.id, { title: 'First', assigneeId: member.user.id, labels: ['x'] }))
      await owner.caller.task.create(taskInput(project.id, { title: 'Second' }))
      await member.caller.task.delete({ id: first.id })
      expect((await owner.caller.task.list({ projectId: project.id })).map(t => t.title)).toEqual(['Second'])

      const restored = await member.caller.task.restore({ id: first.id })
      expect(restored).toMatchObject({ id: first.id, number: first.number, title: 'First', position: first.position, assigneeId: member.user.id, labels: ['x'], version: first.version + 2 })
      // The list cache follows: the task is listed again, first in its column.
      expect((await owner.caller.task.list({ projectId: project.id })).map(t => t.title)).toEqual(['First', 'Second'])
      expect(await viewer.caller.task.byId({ id: first.id })).toMatchObject({ title: 'First' })
      const last = (await events(project.id)).at(-1)!
      expect(last).toMatchObject({ type: 'task.restored', actorId: member.user.id, entityId: first.id, data: { version: first.version + 2, task: { title: 'First', assigneeId: member.user.id } } })

      // A second "Undo" changes nothing.
      const again = await member.caller.task.restore({ id: first.id })
      expect(again.version).toBe(restored.version)
      expect((await events(project.id)).at(-1)!.seq).toBe(last.seq)
    })

    it('checks membership and role; an assignee who left is not restored', async () => {
      const project = await teamProject('Restore rights')
      const task = await owner.caller.task.create(taskInput(project.id, { assigneeId: member.user.id }))
      await owner.caller.task.delete({ id: task.id })
      expect((await failure(outsider.caller.task.restore({ id: task.id }))).code).toBe('NOT_FOUND')
      expect((await failure(viewer.caller.task.restore({ id: task.id }))).code).toBe('FORBIDDEN')
      expect((await failure(owner.caller.task.restore({ id: 'no-such-task' }))).code).toBe('NOT_FOUND')
      expect((await failure(owner.caller.task.restore({ id: '' }))).code).toBe('BAD_REQUEST')
      await member.caller.member.leave({ projectId: project.id })
      const restored = await owner.caller.task.restore({ id: task.id })
      expect(restored).toMatchObject({ assigneeId: null, assignee: null })
    })

    it('an edit based on a version before the delete still merges: the delete and restore change no field', async () => {
      const project = await teamProject('Restore merge')
      const task = await owner.caller.task.create(taskInput(project.id, { title: 'Old' }))
      await member.caller.task.delete({ id: task.id })
      await member.caller.task.restore({ id: task.id })
      const saved = await owner.caller.task.update({ id: task.id, baseVersion: task.version, patch: { title: 'New' } })
      expect(saved).toMatchObject({ title: 'New', version: task.version + 3 })
    })
  })

  describe('search.tasks', () => {
    it('finds word prefixes in titles and descriptions across the caller\'s projects only', async () => {
      const web = await teamProject('Web', 'SRW')
      const app = await teamProject('App', 'SRA')
      const secret = await outsider.caller.project.create({ name: 'Secret', key: 'SRS' })
      const login = await owner.caller.task.create(taskInput(web.id, { title: 'Fix login redirect' }))
      const docs = await owner.caller.task.create(taskInput(app.id, { title: 'Write docs', description: 'Explain the LOGIN flow to new people' }))
      await owner.caller.task.create(taskInput(app.id, { title: 'Unrelated' }))
      await outsider.caller.task.create(taskInput(secret.id, { title: 'Login secrets' }))
      const gone = await owner.caller.task.create(taskInput(web.id, { title: 'Login page removed' }))
      await owner.caller.task.delete({ id: gone.id })

      const ids = async (user: User, query: string, projectId?: string) => (await user.caller.search.tasks({ query, projectId })).map(t => t.id)
      // A title match ranks above a description match.
      expect(await ids(viewer, 'login')).toEqual([login.id, docs.id])
      expect(await ids(viewer, 'LOG')).toEqual([login.id, docs.id])
      expect(await ids(viewer, 'log redi')).toEqual([login.id])
      expect(await ids(viewer, 'people flow')).toEqual([docs.id])
      expect(await ids(viewer, 'login', web.id)).toEqual([login.id])
      expect(await ids(outsider, 'login')).toEqual([expect.any(String)])
      expect(await ids(outsider, 'login')).not.toContain(login.id)
      expect(await ids(viewer, 'ogin')).toEqual([])
      const hit = (await viewer.caller.search.tasks({ query: 'redirect' }))[0]
      expect(hit).toMatchObject({ id: login.id, projectId: web.id, projectKey: 'SRW', projectName: 'Web', number: login.number, title: 'Fix login redirect', status: 'TODO' })
    })

    it('finds a task by its reference, a bare number only within one project', async () => {
      const web = await teamProject('Refs', 'SRR')
      const task = await owner.caller.task.create(taskInput(web.id, { title: 'Referenced' }))
      const ids = async (query: string, projectId?: string) => (await member.caller.search.tasks({ query, projectId })).map(t => t.id)
      expect(await ids(`SRR-${task.number}`)).toEqual([task.id])
      expect(await ids(`srr-${task.number}`)).toEqual([task.id])
      expect(await ids(String(task.number), web.id)).toEqual([task.id])
      // Across projects a bare number is only text (no reference test, no error: fuzz found a 500 here).
      expect(await ids(String(task.number))).not.toContain(task.id)
      expect(await ids('2147483646')).toEqual([])
      expect(await ids(`SRR-99999999999`)).toEqual([])
      expect(await ids('2147483648', web.id)).toEqual([])
    })

    it('limits its input and treats every character as text', async () => {
      const project = await teamProject('Odd input')
      await owner.caller.task.create(taskInput(project.id, { title: 'C++ & Rust: a (tiny) comparison!' }))
      for (const query of ['&', '!', ':*', '(', '|', '\\', '\'', 'a & b | !c', '<->', '🙂']) {
        expect(await owner.caller.search.tasks({ query, projectId: project.id })).toBeInstanceOf(Array)
      }
      expect((await owner.caller.search.tasks({ query: 'rust: (tiny', projectId: project.id })).map(t => t.title)).toEqual(['C++ & Rust: a (tiny) comparison!'])
      expect((await failure(owner.caller.search.tasks({ query: '   ' }))).code).toBe('BAD_REQUEST')
      expect((await failure(owner.caller.search.tasks({ query: 'x'.repeat(201) }))).code).toBe('BAD_REQUEST')
      expect((await failure(owner.caller.search.tasks({ query: 'x\u0000' }))).code).toBe('BAD_REQUEST')
      expect((await failure(owner.caller.search.tasks({ query: 'x', limit: 51 }))).code).toBe('BAD_REQUEST')
      expect((await failure(outsider.caller.search.tasks({ query: 'x', projectId: project.id }))).code).toBe('NOT_FOUND')
      expect(await owner.caller.search.tasks({ query: 'x', projectId: project.id, limit: 1 })).toHaveLength(0)
    })

    it('the task list\'s search box uses the same full text (a word of the description) and still finds parts of titles', async () => {
      const project = await teamProject('List search')
      await owner.caller.task.create(taskInput(project.id, { title: 'Alpha', description: 'mentions the quarterly report' }))
      await owner.caller.task.create(taskInput(project.id, { title: 'Beta release' }))
      const list = async (search: string) => (await owner.caller.task.list({ projectId: project.id, search })).map(t => t.title)
      expect(await list('quarter')).toEqual(['Alpha'])
      expect(await list('elea')).toEqual(['Beta release'])
    })

    it('the index exists and the planner can use it', async () => {
      const [index] = await db.prisma.$queryRaw<{ indexdef: string }[]>`SELECT indexdef FROM pg_indexes WHERE indexname = 'Task_search_idx'`
      expect(index?.indexdef).toMatch(/USING gin/i)
      await db.prisma.$executeRawUnsafe('SET enable_seqscan = off')
      try {
        const plan = await db.prisma.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(
          `EXPLAIN SELECT t."id" FROM "Task" t WHERE (setweight(to_tsvector('simple', t."title"), 'A') || setweight(to_tsvector('simple', t."description"), 'B')) @@ to_tsquery('simple', 'log:*')`,
        )
        expect(plan.map(r => r['QUERY PLAN']).join('\n')).toContain('Task_search_idx')
      }
      finally {
        await db.prisma.$executeRawUnsafe('SET enable_seqscan = on')
      }
    })
  })

  it('prefixTsQuery keeps letters and digits only', () => {
    expect(prefixTsQuery('Fix  LOGIN-12!')).toBe('fix:* & login:* & 12:*')
    expect(prefixTsQuery('&|!():*')).toBeNull()
    expect(prefixTsQuery('straße Écrire')).toBe('straße:* & écrire:*')
  })
})
