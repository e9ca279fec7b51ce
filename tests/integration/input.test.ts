// Strings, numbers and dates PostgreSQL cannot store are refused by the shared schemas
// (shared/schemas/common.ts) with a field error, before any query: never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dateRangeMessage, textMessages } from '../../shared/schemas/common'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

type User = Awaited<ReturnType<typeof signUp>>

const utcYear = (year: number) => {
  const d = new Date(0)
  d.setUTCFullYear(year, 0, 1)
  return d
}

describe.runIf(databaseAvailable)('hostile input', () => {
  let db: Database
  let owner: User
  let project: { id: string, key: string }
  let task: { id: string, number: number, version: number }

  beforeAll(async () => {
    db = await createTestDatabase()
    const team = await projectWithTeam(db)
    owner = team.owner
    project = team.project
    task = await owner.caller.task.create(taskInput(project.id, { title: 'Plain task' }))
  })
  afterAll(() => db?.close())

  /** The call fails with BAD_REQUEST and exactly these field errors' keys, each carrying `message`. */
  async function refused(call: Promise<unknown>, fields: string[], message: string | RegExp) {
    const result = await failure(call)
    expect(result.code).toBe('BAD_REQUEST')
    expect(Object.keys(result.fieldErrors ?? {}).sort()).toEqual([...fields].sort())
    for (const field of fields) expect(result.fieldErrors![field]!.join(' ')).toMatch(message)
    return result
  }

  describe('NUL characters', () => {
    it('are refused in every kind of string, keyed by the field\'s dotted path', async () => {
      const nul = textMessages.nul
      await refused(owner.caller.task.create(taskInput(project.id, { title: 'a\u0000b' })), ['title'], nul)
      await refused(owner.caller.task.create(taskInput(project.id, { labels: ['ok', 'b\u0000'] })), ['labels'], nul)
      await refused(owner.caller.task.update({ id: task.id, baseVersion: task.version, patch: { description: '\u0000' } }), ['patch.description'], nul)
      await refused(owner.caller.task.byId({ id: `${task.id}\u0000` }), ['id'], nul)
      await refused(owner.caller.task.list({ projectId: project.id, search: 'x\u0000' }), ['search'], nul)
      await refused(owner.caller.comment.create({ taskId: task.id, body: 'hi\u0000' }), ['body'], nul)
      await refused(owner.caller.project.create({ name: 'P\u0000' }), ['name'], nul)
      await refused(owner.caller.member.list({ projectId: '\u0000' }), ['projectId'], nul)
      await refused(owner.caller.notification.markRead({ ids: ['\u0000'] }), ['ids'], nul)
      await refused(owner.caller.notification.watch({ taskId: `\u0000${task.id}` }), ['taskId'], nul)
      await refused(owner.caller.apiToken.create({ name: 'ci\u0000' }), ['name'], nul)
      await refused(owner.caller.apiToken.revoke({ id: '\u0000' }), ['id'], nul)
      await refused(owner.caller.activity.list({ projectId: project.id, taskId: '\u0000' }), ['taskId'], nul)
      await refused(owner.caller.project.onEvent({ projectId: `\u0000${project.id}` }), ['projectId'], nul)
    })

    it('are refused at sign-in and sign-up, before any lookup', async () => {
      const anon = (await signUp(db)).caller
      await refused(anon.auth.login({ login: `${owner.user.username}\u0000`, password: 'whatever-123' }), ['login'], textMessages.nul)
      const bad = await refused(anon.auth.register({ email: 'nul@example.test', username: 'nul-user', name: 'N\u0000', password: 'long-enough-pw\u0000' }), ['name', 'password'], textMessages.nul)
      expect(bad.message).toBe('Invalid input')
    })
  })

  describe('lone UTF-16 surrogates', () => {
    it('are refused, while proper pairs (emoji) are stored as sent', async () => {
      const msg = textMessages.surrogate
      await refused(owner.caller.task.create(taskInput(project.id, { title: 'bad \uD800 title' })), ['title'], msg)
      await refused(owner.caller.task.create(taskInput(project.id, { description: 'trailing \uDBFF' })), ['description'], msg)
      await refused(owner.caller.task.update({ id: task.id, baseVersion: task.version, patch: { labels: ['\uDC00'] } }), ['patch.labels'], msg)
      await refused(owner.caller.comment.create({ taskId: task.id, body: '\uDFFF\uD800' }), ['body'], msg)
      await refused(owner.caller.task.list({ projectId: project.id, search: '\uD83D' }), ['search'], msg)
      await refused(owner.caller.project.update({ id: project.id, description: 'x\uD800' }), ['description'], msg)

      const emoji = await owner.caller.task.create(taskInput(project.id, { title: 'Ship it 🚀', labels: ['👍'] }))
      expect(await owner.caller.task.byId({ id: emoji.id })).toMatchObject({ title: 'Ship it 🚀', labels: ['👍'] })
    })
  })

  describe('dates', () => {
    it('outside the years 1–9999 (or invalid) are refused, for due dates and mutes alike', async () => {
      for (const dueDate of [utcYear(-5000), utcYear(0), utcYear(10000), utcYear(275000), new Date(8.64e15), new Date(-8.64e15)]) {
        await refused(owner.caller.task.create(taskInput(project.id, { dueDate })), ['dueDate'], dateRangeMessage)
      }
      await refused(owner.caller.task.create(taskInput(project.id, { dueDate: '+275760-09-13T00:00:00.000Z' as never })), ['dueDate'], dateRangeMessage)
      await refused(owner.caller.task.update({ id: task.id, baseVersion: task.version, patch: { dueDate: utcYear(-4713) } }), ['patch.dueDate'], dateRangeMessage)
      await refused(owner.caller.task.create(taskInput(project.id, { dueDate: new Date(Number.NaN) })), ['dueDate'], 'Enter a valid date')
      await refused(owner.caller.notification.mute({ taskId: task.id, until: utcYear(275000) }), ['until'], dateRangeMessage)
    })

    it('at both ends of the range are stored and read back exactly', async () => {
      const first = new Date('0001-01-01T00:00:00.000Z')
      const last = new Date('9999-12-31T23:59:59.999Z')
      const a = await owner.caller.task.create(taskInput(project.id, { dueDate: first }))
      const b = await owner.caller.task.create(taskInput(project.id, { dueDate: last }))
      expect((await owner.caller.task.byId({ id: a.id })).dueDate?.toISOString()).toBe(first.toISOString())
      expect((await owner.caller.task.byId({ id: b.id })).dueDate?.toISOString()).toBe(last.toISOString())
    })
  })

  describe('integers', () => {
    it('beyond int4 (or not safe integers) are refused in cursors, versions and seqs', async () => {
      await refused(owner.caller.notification.list({ cursor: 2_147_483_648 }), ['cursor'], 'At most 2147483647')
      await refused(owner.caller.notification.list({ cursor: 2 ** 53 + 2 }), ['cursor'], /whole number|at most/i)
      await refused(owner.caller.notification.list({ limit: 1.5 }), ['limit'], 'Must be a whole number')
      await refused(owner.caller.activity.list({ projectId: project.id, cursor: '99999999999' }), ['cursor'], /decimal seq/)
      await refused(owner.caller.activity.list({ projectId: project.id, cursor: '2147483648' }), ['cursor'], /decimal seq/)
      await refused(owner.caller.task.update({ id: task.id, baseVersion: 2_147_483_648, patch: { title: 'x' } }), ['baseVersion'], 'At most 2147483647')
      await refused(owner.caller.task.update({ id: task.id, baseVersion: -2_147_483_649, patch: { title: 'x' } }), ['baseVersion'], 'At least 1')
      await refused(owner.caller.project.onEvent({ projectId: project.id, lastEventId: '99999999999' }), ['lastEventId'], /decimal seq/)
      await refused(owner.caller.notification.onEvent({ lastEventId: '2147483648' }), ['lastEventId'], /decimal seq/)
      await refused(owner.caller.apiToken.create({ name: 'ci', expiresInDays: Number.NaN }), ['expiresInDays'], /number/)
      // The largest int4 is a valid cursor: nothing is older than it but everything.
      expect((await owner.caller.activity.list({ projectId: project.id, cursor: '2147483647' })).items.length).toBeGreaterThan(0)
      expect(await owner.caller.notification.list({ cursor: 2_147_483_647 })).toMatchObject({ nextCursor: null })
    })
  })

  describe('task search', () => {
    it('matches a task number only when it is one a task can have, never failing', async () => {
      const hits = async (search: string) => (await owner.caller.task.list({ projectId: project.id, search })).map(t => t.id)
      expect(await hits(`${project.key}-99999999999`)).toEqual([])
      expect(await hits('99999999999')).toEqual([])
      expect(await hits('2147483648')).toEqual([])
      expect(await hits(`${project.key}-2147483647`)).toEqual([])
      expect(await hits(`${project.key}-${task.number}`)).toContain(task.id)
      expect(await hits(String(task.number))).toContain(task.id)
      // "1e0" is the number 1 to JavaScript, but not a task number anyone would type: it matches
      // text only (the factory's titles are random hex, which can hold "1e0").
      const byText = (await db.prisma.task.findMany({ where: { projectId: project.id, deletedAt: null }, select: { id: true, title: true, description: true } }))
        .filter(t => `${t.title} ${t.description}`.toLowerCase().includes('1e0'))
        .map(t => t.id)
      expect((await hits('1e0')).sort()).toEqual(byText.sort())
    })

    it('treats backslash, % and _ as plain characters', async () => {
      const slash = await owner.caller.task.create(taskInput(project.id, { title: 'C:\\temp\\ path' }))
      const percent = await owner.caller.task.create(taskInput(project.id, { title: '100% done' }))
      const under = await owner.caller.task.create(taskInput(project.id, { title: 'snake_case name' }))
      const hits = async (search: string) => (await owner.caller.task.list({ projectId: project.id, search })).map(t => t.id)
      expect(await hits('\\')).toEqual([slash.id])
      expect(await hits('\\temp\\')).toEqual([slash.id])
      expect(await hits('temp\\')).toEqual([slash.id])
      expect(await hits('%')).toEqual([percent.id])
      expect(await hits('_')).toEqual([under.id])
      expect(await hits('\\%')).toEqual([])
    })
  })
})
