import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requirePresenceTask, TASK_CHECK_TTL_MS } from '../../server/presence/taskCheck'
import type { Database } from '../../server/utils/db'
import { countingDb, projectWithTeam, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('presence task check (requirePresenceTask)', () => {
  let db: Database
  let team: Awaited<ReturnType<typeof projectWithTeam>>

  beforeAll(async () => {
    db = await createTestDatabase()
    team = await projectWithTeam(db)
  })
  afterAll(() => db?.close())

  const notFound = (taskId: string) => ({ name: 'DomainError', code: 'NOT_FOUND', message: `Task ${taskId} not found` })

  it('reads a task once, then answers from memory until the TTL ends', async () => {
    const task = await team.owner.caller.task.create(taskInput(team.project.id))
    const { client, counter } = countingDb(db)
    const t0 = 1_000_000
    await requirePresenceTask(client, team.project.id, task.id, t0)
    expect(counter.queries).toBe(1)
    for (let i = 1; i <= 20; i++) await requirePresenceTask(client, team.project.id, task.id, t0 + i * 100)
    expect(counter.queries).toBe(1)
    // Past the TTL it is read again: a task deleted meanwhile is refused from then on.
    await team.owner.caller.task.delete({ id: task.id })
    await expect(requirePresenceTask(client, team.project.id, task.id, t0 + TASK_CHECK_TTL_MS + 1)).rejects.toMatchObject(notFound(task.id))
    expect(counter.queries).toBe(2)
  })

  it('never remembers a miss, and a task is remembered for its own project only', async () => {
    const other = await team.owner.caller.project.create({ name: 'Other project' })
    const elsewhere = await team.owner.caller.task.create(taskInput(other.id))
    const { client, counter } = countingDb(db)
    for (let i = 0; i < 3; i++) {
      await expect(requirePresenceTask(client, team.project.id, elsewhere.id)).rejects.toMatchObject(notFound(elsewhere.id))
    }
    expect(counter.queries).toBe(3)
    await requirePresenceTask(client, other.id, elsewhere.id)
    await expect(requirePresenceTask(client, team.project.id, elsewhere.id)).rejects.toMatchObject(notFound(elsewhere.id))
    expect(counter.queries).toBe(5)
  })
})
