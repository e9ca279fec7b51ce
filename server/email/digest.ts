// Daily and weekly digests. A run streams users in id order, batch by batch; for each user whose
// digest is due (period.ts) and not yet recorded, it composes the digest, then claims it by
// inserting its DigestRun row (unique per user, period and period start) in the same transaction
// that queues the email: two instances, a re-run after a crash, a missed hour or a daylight-saving
// change can never produce a second email for the same period.
import { notificationLink, notificationText, type NotificationData, type NotificationType } from '../../shared/schemas/notification'
import { statusLabels, type TaskStatus } from '../../shared/schemas/common'
import type { Db, DbTx } from '../utils/db'
import { newId } from '../utils/ids'
import { ActivityCache, type ProjectActivity } from './digestActivity'
import { outboxRow } from './outbox'
import { addDays, defaultDigestPrefs, duePeriods, localTime, type DigestPeriod, type DigestPrefs } from './period'
import { renderEmail, type EmailBlock, type EmailContent, type EmailRow } from './templates'
import { unsubscribeHeaders, unsubscribeSigner, unsubscribeUrl, type UnsubscribeSigner } from './unsubscribe'

/** Rows shown per list before "and N more". */
const MAX_ROWS = 10

export interface DigestUser {
  id: string
  email: string
  name: string
  timezone: string
  notificationSettings: { digestDaily: boolean, digestWeekly: boolean, digestWeekday: number, digestHour: number } | null
}

const digestUserSelect = {
  id: true,
  email: true,
  name: true,
  timezone: true,
  notificationSettings: { select: { digestDaily: true, digestWeekly: true, digestWeekday: true, digestHour: true } },
} as const

export function digestPrefs(user: DigestUser): DigestPrefs {
  const s = user.notificationSettings
  return s
    ? { daily: s.digestDaily, weekly: s.digestWeekly, weekday: s.digestWeekday, hour: s.digestHour, timeZone: user.timezone }
    : { ...defaultDigestPrefs, timeZone: user.timezone }
}

interface DueTask { id: string, title: string, number: number, dueDate: Date, projectId: string, assigneeId: string | null, project: { key: string, name: string } }
interface Mention { id: string, userId: string, type: string, projectId: string | null, taskId: string | null, data: unknown, count: number, actorIds: string[], latestActor: { id: string, username: string, name: string } | null }

/** What a batch of users' digests are made of, read with a handful of queries for the whole batch. */
export interface DigestInputs {
  tasks: Map<string, DueTask[]>
  mentions: Map<string, Mention[]>
  projects: Map<string, string[]>
}

async function readInputs(db: DbTx, userIds: string[], now: Date): Promise<DigestInputs> {
  // Every user's "this week" ends within 8 days of now, whatever their zone.
  const horizon = new Date(now.getTime() + 8 * 24 * 3_600_000)
  const [tasks, mentions, members] = await Promise.all([
    db.task.findMany({
      where: { assigneeId: { in: userIds }, deletedAt: null, status: { not: 'DONE' }, dueDate: { not: null, lt: horizon } },
      select: { id: true, title: true, number: true, dueDate: true, projectId: true, assigneeId: true, project: { select: { key: true, name: true } } },
      orderBy: [{ dueDate: 'asc' }, { number: 'asc' }],
    }),
    db.notification.findMany({
      where: { userId: { in: userIds }, type: 'mentioned', readAt: null, archivedAt: null },
      select: { id: true, userId: true, type: true, projectId: true, taskId: true, data: true, count: true, actorIds: true, latestActor: { select: { id: true, username: true, name: true } } },
      orderBy: { seq: 'desc' },
    }),
    db.projectMember.findMany({ where: { userId: { in: userIds } }, select: { userId: true, projectId: true } }),
  ])
  const group = <T, K>(items: T[], key: (t: T) => K) => {
    const map = new Map<K, T[]>()
    for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item])
    return map
  }
  return {
    tasks: group(tasks as DueTask[], t => t.assigneeId!),
    mentions: group(mentions, m => m.userId),
    projects: new Map([...group(members, m => m.userId)].map(([u, rows]) => [u, rows.map(r => r.projectId)])),
  }
}

const status = (s: string) => statusLabels[s as TaskStatus] ?? s
const taskUrl = (origin: string, projectId: string, taskId: string) => `${origin}/projects/${projectId}?task=${taskId}`
const capped = (rows: EmailRow[]): { rows: EmailRow[], note?: string } =>
  rows.length > MAX_ROWS ? { rows: rows.slice(0, MAX_ROWS), note: `and ${rows.length - MAX_ROWS} more` } : { rows }

export interface ComposedDigest {
  content: EmailContent
  counts: { overdue: number, today: number, week: number, mentions: number, projects: number }
}

/** The digest of one user for one period, or null when there is nothing to say (an empty digest is not sent). */
export async function composeDigest(
  user: DigestUser,
  period: DigestPeriod,
  now: Date,
  inputs: DigestInputs,
  activity: ActivityCache,
  origin: string,
  signer: UnsubscribeSigner,
): Promise<ComposedDigest | null> {
  const today = localTime(now, user.timezone).date
  const weekEnd = addDays(today, 7)
  const tasks = inputs.tasks.get(user.id) ?? []
  const day = (t: DueTask) => t.dueDate.toISOString().slice(0, 10)
  const row = (t: DueTask, detail: string): EmailRow => ({ label: `${t.project.key}-${t.number} ${t.title}`, url: taskUrl(origin, t.projectId, t.id), detail })
  const overdue = tasks.filter(t => day(t) < today).map(t => row(t, `due ${day(t)}`))
  const dueToday = tasks.filter(t => day(t) === today).map(t => row(t, t.project.name))
  const dueWeek = tasks.filter(t => day(t) > today && day(t) < weekEnd).map(t => row(t, `due ${day(t)}`))
  const mentions = (inputs.mentions.get(user.id) ?? []).map((m) => {
    const item = { type: m.type as NotificationType, latestActor: m.latestActor, actorCount: m.actorIds.length, count: m.count, data: m.data as NotificationData, projectId: m.projectId, taskId: m.taskId }
    const link = notificationLink(item)
    return { label: notificationText(item), url: link ? `${origin}${link}` : null, detail: item.data.projectName }
  })
  const projects = (await Promise.all((inputs.projects.get(user.id) ?? []).map(id => activity.get(id, period)))).filter((p): p is ProjectActivity => Boolean(p))

  const blocks: EmailBlock[] = []
  if (overdue.length) blocks.push({ heading: `Overdue (${overdue.length})`, ...capped(overdue) })
  if (dueToday.length) blocks.push({ heading: `Due today (${dueToday.length})`, ...capped(dueToday) })
  if (dueWeek.length) blocks.push({ heading: `Due this week (${dueWeek.length})`, ...capped(dueWeek) })
  if (mentions.length) blocks.push({ heading: `Unread mentions (${mentions.length})`, ...capped(mentions) })
  for (const p of projects.sort((a, b) => a.name.localeCompare(b.name))) {
    const parts = [`${p.created} created`, `${p.completed} completed`, ...p.moves.slice(0, 4).map(m => `${status(m.from)} → ${status(m.to)}: ${m.count}`)]
    blocks.push({
      heading: `${p.name}: what moved`,
      note: parts.join(' · '),
      rows: p.busiest.map(b => ({ label: b.label, url: taskUrl(origin, p.projectId, b.taskId), detail: `${b.events} change${b.events === 1 ? '' : 's'}` })),
    })
  }
  if (!blocks.length) return null

  const label = period === 'daily' ? 'daily' : 'weekly'
  const summary = [
    overdue.length && `${overdue.length} overdue`,
    dueToday.length && `${dueToday.length} due today`,
    dueWeek.length && `${dueWeek.length} due this week`,
    mentions.length && `${mentions.length} unread mention${mentions.length === 1 ? '' : 's'}`,
  ].filter(Boolean).join(', ')
  const token = signer.token(user.id, period)
  return {
    content: {
      subject: `Your ${label} digest${summary ? `: ${summary}` : ''}`,
      preheader: summary || `What moved in ${projects.map(p => p.name).join(', ')}`,
      heading: `Your ${label} digest`,
      intro: `Hi ${user.name}, here is what needs you and what moved ${period === 'daily' ? 'since yesterday' : 'this past week'}.`,
      blocks,
      cta: { label: 'Open TaskTracker Pro', url: `${origin}/` },
      reason: `You get the ${label} digest at ${String(digestPrefs(user).hour).padStart(2, '0')}:00 (${user.timezone}); empty digests are never sent.`,
      unsubscribe: { label: `Turn off the ${label} digest`, url: unsubscribeUrl(origin, token) },
      settingsUrl: `${origin}/settings/notifications#email`,
      origin,
    },
    counts: { overdue: overdue.length, today: dueToday.length, week: dueWeek.length, mentions: mentions.length, projects: projects.length },
  }
}

export interface DigestRunResult {
  /** users looked at */
  users: number
  /** digests queued by this run */
  queued: number
  /** due digests with nothing to say (recorded, not sent) */
  empty: number
  /** due digests another run (or instance) had already claimed */
  skipped: number
}

export interface DigestRunOptions {
  origin: string
  now?: Date
  /** users read per batch (memory stays bounded by this) */
  batchSize?: number
  /** stop after this many batches (tests: a run that dies halfway) */
  maxBatches?: number
}

/** One digest run over every user (see the top of this file). */
export async function runDigests(db: Db, opts: DigestRunOptions): Promise<DigestRunResult> {
  const now = opts.now ?? new Date()
  const batchSize = opts.batchSize ?? 500
  const signer = await unsubscribeSigner(db)
  const activity = new ActivityCache(db, now)
  const result: DigestRunResult = { users: 0, queued: 0, empty: 0, skipped: 0 }
  let cursor: string | undefined
  for (let batch = 0; batch < (opts.maxBatches ?? Infinity); batch++) {
    const users: DigestUser[] = await db.user.findMany({
      select: digestUserSelect,
      orderBy: { id: 'asc' },
      take: batchSize,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    })
    if (!users.length) break
    cursor = users.at(-1)!.id
    result.users += users.length

    const due = users.flatMap(user => duePeriods(now, digestPrefs(user)).map(d => ({ user, ...d })))
    if (due.length) {
      const done = await db.digestRun.findMany({
        where: { userId: { in: [...new Set(due.map(d => d.user.id))] }, periodStart: { in: [...new Set(due.map(d => d.periodStart))] } },
        select: { userId: true, period: true, periodStart: true },
      })
      const doneKeys = new Set(done.map(r => `${r.userId}:${r.period}:${r.periodStart}`))
      const todo = due.filter(d => !doneKeys.has(`${d.user.id}:${d.period}:${d.periodStart}`))
      result.skipped += due.length - todo.length
      if (todo.length) {
        const inputs = await readInputs(db, [...new Set(todo.map(d => d.user.id))], now)
        const composed = await Promise.all(todo.map(async d => ({ ...d, digest: await composeDigest(d.user, d.period, now, inputs, activity, opts.origin, signer) })))
        const rendered = await Promise.all(composed.map(async c => ({ ...c, outboxId: c.digest ? newId() : null, email: c.digest ? await renderEmail(c.digest.content) : null })))
        await db.$transaction(async (tx) => {
          const claimed = await tx.digestRun.createManyAndReturn({
            data: rendered.map(r => ({ userId: r.user.id, period: r.period, periodStart: r.periodStart, status: r.email ? 'queued' : 'empty', outboxId: r.outboxId, createdAt: now })),
            skipDuplicates: true,
            select: { userId: true, period: true },
          })
          const mine = new Set(claimed.map(c => `${c.userId}:${c.period}`))
          const toSend = rendered.filter(r => r.email && mine.has(`${r.user.id}:${r.period}`))
          if (toSend.length) {
            await tx.emailOutbox.createMany({
              data: toSend.map(r => outboxRow(r.outboxId!, {
                ...r.email!,
                userId: r.user.id,
                kind: r.period === 'daily' ? 'digest_daily' : 'digest_weekly',
                to: r.user.email,
                headers: unsubscribeHeaders(opts.origin, signer.token(r.user.id, r.period)),
              }, now)),
            })
          }
          result.queued += toSend.length
          result.empty += rendered.filter(r => !r.email && mine.has(`${r.user.id}:${r.period}`)).length
          result.skipped += rendered.length - claimed.length
        }, { timeout: 120_000, maxWait: 30_000 })
      }
    }
    if (users.length < batchSize) break
  }
  return result
}

/** The user's digest as it would be sent now (Settings → Email preview); null when it would be empty. */
export async function previewDigest(db: Db, userId: string, period: DigestPeriod, origin: string, now: Date = new Date()) {
  const user: DigestUser | null = await db.user.findUnique({ where: { id: userId }, select: digestUserSelect })
  if (!user) return null
  const [inputs, signer] = await Promise.all([readInputs(db, [userId], now), unsubscribeSigner(db)])
  const digest = await composeDigest(user, period, now, inputs, new ActivityCache(db, now), origin, signer)
  if (!digest) return null
  return { ...(await renderEmail(digest.content)), counts: digest.counts }
}
