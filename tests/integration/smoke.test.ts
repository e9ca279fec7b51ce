import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/utils/db'
import { projectWithTeam } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('smoke', () => {
  let db: Database
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(() => db?.close())

  it('creates a project with a task', async () => {
    const { owner, project } = await projectWithTeam(db)
    const task = await owner.caller.task.create({ projectId: project.id, title: 'Hello' })
    expect(task.version).toBe(1)
    const list = await owner.caller.task.list({ projectId: project.id })
    expect(list.map(t => t.title)).toEqual(['Hello'])
  })
})
