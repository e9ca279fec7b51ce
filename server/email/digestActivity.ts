// What moved in a project over a digest period, read from its event log: the "what moved" blocks of
// the digests (digest.ts), computed once per run and project.
import type { DbTx } from '../utils/db'
import { periodWindowMs, type DigestPeriod } from './period'

export interface ProjectActivity {
  projectId: string
  name: string
  created: number
  completed: number
  /** "To do → In progress" → count */
  moves: { from: string, to: string, count: number }[]
  busiest: { taskId: string, label: string, events: number }[]
}

/** What moved in a project since `since`: counts by status change, created, completed, the busiest tasks. */
export async function projectActivity(db: DbTx, projectId: string, since: Date): Promise<ProjectActivity | null> {
  const project = await db.project.findUnique({ where: { id: projectId }, select: { name: true, key: true } })
  if (!project) return null
  const [byType, busiest] = await Promise.all([
    db.$queryRawUnsafe<{ type: string, from: string | null, to: string | null, count: number }[]>(
      `SELECT "type", "data"->'changes'->'status'->>'from' AS "from", "data"->'changes'->'status'->>'to' AS "to", count(*)::int AS "count"
       FROM "ProjectEvent" WHERE "projectId" = $1 AND "createdAt" >= $2 AND "type" IN ('task.created', 'task.updated', 'task.moved')
       GROUP BY 1, 2, 3`,
      projectId,
      since,
    ),
    db.$queryRawUnsafe<{ taskId: string, events: number }[]>(
      `SELECT COALESCE(CASE WHEN "entityType" = 'comment' THEN "data"->>'taskId' END, "entityId") AS "taskId", count(*)::int AS "events"
       FROM "ProjectEvent" WHERE "projectId" = $1 AND "createdAt" >= $2 AND "entityType" IN ('task', 'comment')
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`,
      projectId,
      since,
    ),
  ])
  const created = byType.filter(r => r.type === 'task.created').reduce((n, r) => n + r.count, 0)
  const moves = byType.filter(r => r.type !== 'task.created' && r.from && r.to)
  const merged = new Map<string, { from: string, to: string, count: number }>()
  for (const m of moves) {
    const key = `${m.from}>${m.to}`
    const entry = merged.get(key) ?? { from: m.from!, to: m.to!, count: 0 }
    entry.count += m.count
    merged.set(key, entry)
  }
  const completed = moves.filter(m => m.to === 'DONE').reduce((n, r) => n + r.count, 0)
  const tasks = await db.task.findMany({ where: { id: { in: busiest.map(b => b.taskId) }, deletedAt: null }, select: { id: true, title: true, number: true } })
  const byId = new Map(tasks.map(t => [t.id, t]))
  const busy = busiest.filter(b => byId.has(b.taskId)).slice(0, 3).map(b => ({ taskId: b.taskId, label: `${project.key}-${byId.get(b.taskId)!.number} ${byId.get(b.taskId)!.title}`, events: b.events }))
  if (!created && !merged.size && !busy.length) return null
  return { projectId, name: project.name, created, completed, moves: [...merged.values()].sort((a, b) => b.count - a.count), busiest: busy }
}

/** Project activity per period and project, computed once per run and shared by every recipient. */
export class ActivityCache {
  private cache = new Map<string, Promise<ProjectActivity | null>>()
  constructor(private db: DbTx, private now: Date) {}
  get(projectId: string, period: DigestPeriod): Promise<ProjectActivity | null> {
    const key = `${period}:${projectId}`
    let hit = this.cache.get(key)
    if (!hit) {
      hit = projectActivity(this.db, projectId, new Date(this.now.getTime() - periodWindowMs(period)))
      this.cache.set(key, hit)
    }
    return hit
  }
}
