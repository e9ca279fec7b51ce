// Example internal service: prints the open tasks of every project the token's owner can see.
//   TASKTRACKER_URL=http://localhost:3000 TASKTRACKER_TOKEN=ttp_… npx jiti docs/examples/list-tasks.ts
import { createTaskTrackerClient } from '../../shared/client'

const client = createTaskTrackerClient({
  url: process.env.TASKTRACKER_URL ?? 'http://localhost:3000',
  token: process.env.TASKTRACKER_TOKEN ?? '',
})

const me = await client.auth.me.query()
console.log(`signed in as ${me?.name ?? '(token rejected)'}`)
for (const project of await client.project.list.query()) {
  const tasks = await client.task.list.query({ projectId: project.id, status: ['TODO', 'IN_PROGRESS', 'IN_REVIEW'] })
  console.log(`\n${project.name} (${tasks.length} open)`)
  for (const t of tasks) console.log(`  ${project.key}-${t.number}  [${t.status}]  ${t.title}`)
}
