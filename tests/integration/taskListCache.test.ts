import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listTasks } from '../../server/services/taskList'
import type { Database } from '../../server/utils/db'
import { countingDb, projectWithTeam, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('task.list cache (listTasks)', () => {
  let db: Database
  let team: Awaited<ReturnType<typeof projectWithTeam>>

  beforeAll(async () => {
    db = await createTestDatabase()
    team = await projectWithTeam(db)
    for (let i = 0; i < 3; i++) await team.owner.caller.task.create(taskInput(team.project.id))
  })
  afterAll(() => db?.close())

  it('readers that miss together after a write share one read of the list; the next write is read again', async () => {
    const userId = team.owner.user.id
    const input = { projectId: team.project.id }
    const { client, counter } = countingDb(db)
    // Ten readers at once: ten membership + seq reads, and one read of the tasks for all of them.
    const lists = await Promise.all(Array.from({ length: 10 }, () => listTasks(client, userId, input)))
    expect(counter.queries).toBe(11)
    expect(new Set(lists).size).toBe(1)
    expect(lists[0]).toHaveLength(3)
    // Cached for this seq: one membership read only.
    await listTasks(client, userId, input)
    expect(counter.queries).toBe(12)
    // A write moves the seq: the next readers read the list again (once), and see the new task.
    const created = await team.owner.caller.task.create(taskInput(team.project.id))
    const after = await Promise.all(Array.from({ length: 5 }, () => listTasks(client, userId, input)))
    expect(counter.queries).toBe(12 + 5 + 1)
    expect(after[0]!.map(t => t.id)).toContain(created.id)
    // Another filter is its own list.
    await listTasks(client, userId, { ...input, status: ['DONE'] })
    expect(counter.queries).toBe(18 + 2)
  })

  it('shares a failed read with the readers that waited on it, and the next reader tries again', async () => {
    const userId = team.owner.user.id
    const input = { projectId: team.project.id, label: 'single-flight' }
    let failNext = true
    const flaky = db.prisma.$extends({
      query: {
        task: {
          async findMany({ args, query }) {
            if (failNext) {
              failNext = false
              throw new Error('read failed')
            }
            return query(args)
          },
        },
      },
    }) as unknown as Parameters<typeof listTasks>[0]
    const results = await Promise.allSettled([listTasks(flaky, userId, input), listTasks(flaky, userId, input)])
    expect(results.map(r => r.status)).toEqual(['rejected', 'rejected'])
    await expect(listTasks(flaky, userId, input)).resolves.toEqual([])
  })
})
