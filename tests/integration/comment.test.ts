import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('comments', () => {
  let db: Database
  let team: Awaited<ReturnType<typeof projectWithTeam>>
  let member: Awaited<ReturnType<typeof signUp>>
  let viewer: Awaited<ReturnType<typeof signUp>>
  let outsider: Awaited<ReturnType<typeof signUp>>

  beforeAll(async () => {
    db = await createTestDatabase()
    team = await projectWithTeam(db)
    member = await team.addMember('MEMBER')
    viewer = await team.addMember('VIEWER')
    outsider = await signUp(db)
  })
  afterAll(() => db?.close())

  const newTask = () => team.owner.caller.task.create(taskInput(team.project.id))

  it('members comment and everyone on the team reads the thread in order', async () => {
    const task = await newTask()
    expect(await viewer.caller.comment.list({ taskId: task.id })).toEqual([])
    const first = await member.caller.comment.create({ taskId: task.id, body: '  I can take this  ' })
    const second = await team.owner.caller.comment.create({ taskId: task.id, body: 'Thanks! <b>not bold</b>' })
    expect(first).toMatchObject({
      taskId: task.id,
      body: 'I can take this',
      author: { id: member.user.id, username: member.user.username, name: member.user.name },
    })
    const thread = await viewer.caller.comment.list({ taskId: task.id })
    expect(thread.map(c => [c.id, c.body, c.author.id])).toEqual([
      [first.id, 'I can take this', member.user.id],
      [second.id, 'Thanks! <b>not bold</b>', team.owner.user.id],
    ])
    // Comments on another task stay there.
    expect(await viewer.caller.comment.list({ taskId: (await newTask()).id })).toEqual([])
  })

  it('viewers cannot comment', async () => {
    const task = await newTask()
    expect((await failure(viewer.caller.comment.create({ taskId: task.id, body: 'Hello' }))).code).toBe('FORBIDDEN')
    expect(await team.owner.caller.comment.list({ taskId: task.id })).toEqual([])
  })

  it('non-members get NOT_FOUND for reading and writing', async () => {
    const task = await newTask()
    await member.caller.comment.create({ taskId: task.id, body: 'Private' })
    expect((await failure(outsider.caller.comment.list({ taskId: task.id }))).code).toBe('NOT_FOUND')
    expect((await failure(outsider.caller.comment.create({ taskId: task.id, body: 'Hi' }))).code).toBe('NOT_FOUND')
    expect(await team.owner.caller.comment.list({ taskId: task.id })).toHaveLength(1)
  })

  it('comments on unknown or deleted tasks are NOT_FOUND; empty bodies are BAD_REQUEST', async () => {
    const task = await newTask()
    await team.owner.caller.task.delete({ id: task.id })
    expect((await failure(member.caller.comment.create({ taskId: task.id, body: 'Late' }))).code).toBe('NOT_FOUND')
    expect((await failure(member.caller.comment.list({ taskId: task.id }))).code).toBe('NOT_FOUND')
    expect((await failure(member.caller.comment.list({ taskId: 'no-such-task' }))).code).toBe('NOT_FOUND')

    const live = await newTask()
    for (const body of ['   ', 'x'.repeat(10_001)]) {
      const f = await failure(member.caller.comment.create({ taskId: live.id, body }))
      expect(f.code).toBe('BAD_REQUEST')
      expect(Object.keys(f.fieldErrors!)).toEqual(['body'])
    }
    expect(await member.caller.comment.list({ taskId: live.id })).toEqual([])
  })
})
