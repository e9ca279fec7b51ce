import { priorityValues, taskStatusValues } from '../../shared/schemas/common'
import type { Db } from '../utils/db'
import { newId } from '../utils/ids'
import { hashPassword } from './auth'
import { createComment } from './comment'
import { addMember, createProject } from './project'
import { createTask } from './task'

export const DEMO_PASSWORD = 'tasktracker-demo'
export const DEMO_USERS = [
  { username: 'ana', name: 'Ana Lima', email: 'ana@demo.tasktracker.dev' },
  { username: 'ben', name: 'Ben Okafor', email: 'ben@demo.tasktracker.dev' },
  { username: 'cara', name: 'Cara Jensen', email: 'cara@demo.tasktracker.dev' },
  { username: 'dan', name: 'Dan Weiss', email: 'dan@demo.tasktracker.dev' },
] as const

const TITLES = [
  'Fix login redirect loop', 'Design new onboarding flow', 'Write API docs for tasks', 'Add dark mode toggle',
  'Migrate images to CDN', 'Keyboard shortcuts for the board', 'Audit accessibility of forms', 'Email digest template',
  'Speed up project list query', 'Mobile layout for task panel', 'Set up error tracking', 'Rate-limit sign-in',
  'Drag and drop between columns', 'Markdown preview in descriptions', 'Invite teammates by username', 'Export tasks as CSV',
  'Due date reminders', 'Label colours', 'Search across projects', 'Activity feed on tasks',
  'Empty states for new projects', 'Improve password rules', 'Session expiry warning', 'API tokens page',
  'Retry failed webhooks', 'Cache avatars', 'Reduce bundle size', 'Write release notes',
  'Load test the board', 'Plan Q3 roadmap',
]
const LABELS = ['bug', 'feature', 'design', 'backend', 'frontend', 'docs', 'perf']

/** Seeds a demo workspace when the database has no users. Returns false when it was not empty. */
export async function seedDemo(db: Db): Promise<boolean> {
  if ((await db.user.count()) > 0) return false
  const passwordHash = await hashPassword(DEMO_PASSWORD)
  const users = []
  for (const u of DEMO_USERS) {
    users.push(await db.user.create({ data: { id: newId(), ...u, passwordHash }, select: { id: true, username: true } }))
  }
  const [ana, ...others] = users
  const project = await createProject(db, ana!.id, {
    name: 'Website Relaunch',
    key: 'WEB',
    description: 'Everything for the new marketing site and app shell.',
  })
  const roles = ['ADMIN', 'MEMBER', 'VIEWER'] as const
  for (const [i, u] of others.entries()) await addMember(db, ana!.id, { projectId: project.id, username: u.username, role: roles[i]! })
  const writers = users.slice(0, 3)
  const day = 24 * 60 * 60 * 1000
  for (const [i, title] of TITLES.entries()) {
    const author = writers[i % writers.length]!
    const task = await createTask(db, author.id, {
      projectId: project.id,
      title,
      description: i % 3 === 0 ? `**Why:** ${title.toLowerCase()} keeps coming up in feedback.\n\n- [ ] agree on scope\n- [ ] ship it` : '',
      status: taskStatusValues[i % taskStatusValues.length]!,
      priority: priorityValues[(i * 7) % priorityValues.length]!,
      assigneeId: i % 4 === 3 ? null : writers[(i + 1) % writers.length]!.id,
      dueDate: i % 5 === 0 ? new Date(Date.now() + ((i % 9) - 2) * day) : null,
      labels: [LABELS[i % LABELS.length]!, ...(i % 4 === 0 ? [LABELS[(i + 3) % LABELS.length]!] : [])],
    })
    if (i % 6 === 0) await createComment(db, writers[(i + 2) % writers.length]!.id, { taskId: task.id, body: 'I can pick this up after the current sprint.' })
  }
  return true
}
