import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runDigests } from '../../server/email/digest'
import { unsubscribeToken } from '../../server/email/unsubscribe'
import { Mailer } from '../../server/email/mailer'
import { smtpTransport } from '../../server/email/transport'
import { notificationsSettled } from '../../server/notifications/notifier'
import type { Database } from '../../server/utils/db'
import { callerFor, failure, projectWithTeam, signUp, taskInput } from '../factories'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'
import { startTestSmtp, type TestSmtp } from '../setup/smtp'

const ORIGIN = 'https://tasks.example.test'
const DAY = 24 * 3_600_000

describe.runIf(databaseAvailable)('digests', () => {
  let db: Database
  let smtp: TestSmtp

  beforeAll(async () => {
    db = await createTestDatabase()
    smtp = await startTestSmtp()
  })
  afterEach(async () => {
    await notificationsSettled()
    smtp.reset()
  })
  afterAll(async () => {
    await smtp?.close()
    await db?.close()
  })

  const utcDate = (d: Date, days = 0) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days))
  const digestsOf = (userId: string) => db.prisma.emailOutbox.findMany({ where: { userId, kind: { in: ['digest_daily', 'digest_weekly'] } }, orderBy: { createdAt: 'asc' } })

  /** Ben is assigned tasks overdue, due today and later this week, and mentioned; hour 0 UTC = due all day. */
  async function busyTeam() {
    const t = await projectWithTeam(db)
    const ana = t.owner
    const ben = await t.addMember('MEMBER')
    await ben.caller.notification.digest.update({ hour: 0, timeZone: 'UTC' })
    const now = new Date()
    const overdue = await ana.caller.task.create(taskInput(t.project.id, { title: 'Overdue report', assigneeId: ben.user.id, dueDate: utcDate(now, -2) }))
    const today = await ana.caller.task.create(taskInput(t.project.id, { title: 'Due today', assigneeId: ben.user.id, dueDate: utcDate(now) }))
    await ana.caller.task.create(taskInput(t.project.id, { title: 'Later this week', assigneeId: ben.user.id, dueDate: utcDate(now, 3) }))
    await ana.caller.task.create(taskInput(t.project.id, { title: 'Next month', assigneeId: ben.user.id, dueDate: utcDate(now, 30) }))
    await ana.caller.comment.create({ taskId: today.id, body: `@${ben.user.username} please look` })
    await ana.caller.task.move({ id: overdue.id, status: 'IN_PROGRESS' })
    await notificationsSettled()
    return { ...t, ana, ben, overdue, today }
  }

  it('sends each due user exactly one daily digest, even with two runs at the same moment and a re-run', async () => {
    const { ana, ben } = await busyTeam()
    // Only Ben's daily digest is in play: Ana's (default hour) and a weekly one would come due
    // "an hour later" or "the next day" at some times of day and days of the week.
    await ana.caller.notification.digest.update({ daily: false, weekly: false })
    await ben.caller.notification.digest.update({ weekly: false })
    const now = new Date()
    const [a, b] = await Promise.all([runDigests(db.prisma, { origin: ORIGIN, now }), runDigests(db.prisma, { origin: ORIGIN, now, batchSize: 3 })])
    expect(a.queued + b.queued).toBeGreaterThanOrEqual(1)
    expect(await digestsOf(ben.user.id)).toHaveLength(1)
    // An hour later (a missed hour, or the next cron run): nothing new.
    expect((await runDigests(db.prisma, { origin: ORIGIN, now: new Date(now.getTime() + 3_600_000) })).queued).toBe(0)
    expect(await digestsOf(ben.user.id)).toHaveLength(1)
    expect(await db.prisma.digestRun.findMany({ where: { userId: ben.user.id } })).toMatchObject([{ period: 'daily', periodStart: now.toISOString().slice(0, 10), status: 'queued' }])
    // The next day: the next one.
    await runDigests(db.prisma, { origin: ORIGIN, now: new Date(now.getTime() + DAY) })
    expect(await digestsOf(ben.user.id)).toHaveLength(2)
  })

  it('a run that dies halfway and is re-run sends every digest once', async () => {
    const users = []
    for (let i = 0; i < 5; i++) {
      const { ben } = await busyTeam()
      users.push(ben)
    }
    const now = new Date(Date.now() + 2 * DAY)
    await runDigests(db.prisma, { origin: ORIGIN, now, batchSize: 4, maxBatches: 2 })
    await runDigests(db.prisma, { origin: ORIGIN, now, batchSize: 4 })
    for (const u of users) expect(await digestsOf(u.user.id)).toHaveLength(1)
  })

  it('lists what is overdue, due today and this week, unread mentions and what moved, each linking to the task', async () => {
    const { ben, ana, project, overdue, today } = await busyTeam()
    const mailer = new Mailer({ db: db.prisma, transport: smtpTransport(smtp.url), from: 'TaskTracker Pro <no-reply@tasks.example.test>', origin: ORIGIN, delayMs: 3_600_000, pollMs: 60_000 })
    const { restore } = installTestServices({ mailer })
    try {
      await runDigests(db.prisma, { origin: ORIGIN, now: new Date(Date.now() + 60_000) })
      const [row] = await digestsOf(ben.user.id)
      expect(row!.subject).toBe('Your daily digest: 1 overdue, 1 due today, 1 due this week, 1 unread mention')
      const text = row!.text
      expect(text).toMatch(/Overdue \(1\)[\s\S]*Overdue report/)
      expect(text).toMatch(/Due today \(1\)[\s\S]*Due today/)
      expect(text).toMatch(/Due this week \(1\)[\s\S]*Later this week/)
      // Due later than this week: not listed as due (it may appear among the busiest tasks).
      expect(text.slice(text.indexOf('Overdue ('), text.indexOf('Unread mentions'))).not.toContain('Next month')
      expect(text).toContain(`${ana.user.name} mentioned you in a comment on 'Due today'`)
      expect(text).toContain(`${project.name}: what moved`)
      expect(text).toMatch(/4 created · 0 completed · To do → In progress: 1/)
      expect(text).toContain(`${ORIGIN}/projects/${project.id}?task=${overdue.id}`)
      expect(row!.html.replace(/&#x3D;/g, '=')).toContain(`href="${ORIGIN}/projects/${project.id}?task=${today.id}"`)
      expect(row!.headers).toMatchObject({ 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' })
      // It goes out through SMTP like every email. Other users of the shared database may have a
      // digest due at the same time, so wait for Ben's.
      mailer.kick()
      let mail = await smtp.next()
      while (mail.subject !== row!.subject) mail = await smtp.next()
      expect(mail.subject).toBe(row!.subject)
      expect(mail.text).toContain('Overdue report')
    }
    finally {
      await mailer.stop()
      restore()
    }
  })

  it('sends no empty digest, and the weekly one only on the chosen weekday', async () => {
    const idle = await signUp(db)
    await idle.caller.notification.digest.update({ hour: 0, timeZone: 'UTC', weekly: true, weekday: new Date().getUTCDay() })
    const now = new Date(Date.now() + 60_000)
    await runDigests(db.prisma, { origin: ORIGIN, now })
    expect(await digestsOf(idle.user.id)).toEqual([])
    expect((await db.prisma.digestRun.findMany({ where: { userId: idle.user.id } })).map(r => [r.period, r.status]).sort()).toEqual([['daily', 'empty'], ['weekly', 'empty']])

    const { ben } = await busyTeam()
    const weekday = new Date().getUTCDay()
    await ben.caller.notification.digest.update({ daily: false, weekly: true, weekday: (weekday + 1) % 7 })
    await runDigests(db.prisma, { origin: ORIGIN, now })
    expect(await digestsOf(ben.user.id)).toEqual([])
    await runDigests(db.prisma, { origin: ORIGIN, now: new Date(now.getTime() + DAY) })
    expect((await digestsOf(ben.user.id)).map(r => r.kind)).toEqual(['digest_weekly'])
    expect((await digestsOf(ben.user.id))[0]!.subject).toMatch(/^Your weekly digest/)
  })

  it('digest settings: defaults, update with field errors, preview, test email, and the browser time zone at sign-in', async () => {
    const { ben } = await busyTeam()
    const fresh = await signUp(db)
    expect(await fresh.caller.notification.digest.get()).toEqual({ daily: true, weekly: false, weekday: 1, hour: 8, timeZone: 'UTC', delivery: 'none' })

    // The browser's zone is taken until the user picks one.
    expect(await fresh.caller.notification.digest.detectTimeZone({ timeZone: 'Europe/Paris' })).toEqual({ timeZone: 'Europe/Paris' })
    expect(await fresh.caller.notification.digest.update({ timeZone: 'Asia/Tokyo', hour: 7, weekly: true, weekday: 5 })).toMatchObject({ timeZone: 'Asia/Tokyo', hour: 7, weekly: true, weekday: 5, daily: true })
    expect(await fresh.caller.notification.digest.detectTimeZone({ timeZone: 'Europe/Paris' })).toEqual({ timeZone: 'Asia/Tokyo' })

    const bad = await failure(fresh.caller.notification.digest.update({ timeZone: 'Mars/Olympus', hour: 25 }))
    expect(bad.code).toBe('BAD_REQUEST')
    expect(bad.fieldErrors).toMatchObject({ timeZone: [expect.stringMatching(/Unknown time zone/)], hour: ['An hour is 0 to 23'] })
    expect((await failure(fresh.caller.notification.digest.update({ weekday: 1.5 } as never))).code).toBe('BAD_REQUEST')

    const preview = await ben.caller.notification.digest.preview({ period: 'daily' })
    expect(preview.empty).toBe(false)
    expect(preview.empty === false && preview.html).toContain('Overdue report')
    expect(await fresh.caller.notification.digest.preview({ period: 'weekly' })).toEqual({ empty: true })

    const anonymous = await callerFor(db)
    expect((await failure(anonymous.notification.digest.update({ hour: 9 }))).code).toBe('UNAUTHORIZED')
    await fresh.caller.notification.digest.sendTest()
    expect(await db.prisma.emailOutbox.findMany({ where: { userId: fresh.user.id }, select: { kind: true, to: true } })).toEqual([{ kind: 'test', to: fresh.user.email }])
  })

  it('unsubscribe links: the daily digest, and "every email" from the test email, each turned back on', async () => {
    const user = await signUp(db)
    const anonymous = await callerFor(db)
    const daily = await unsubscribeToken(db.prisma, user.user.id, 'daily')
    expect(await anonymous.notification.unsubscribe({ token: daily })).toEqual({ kind: 'daily', what: 'the daily digest', subscribed: false })
    expect(await user.caller.notification.digest.get()).toMatchObject({ daily: false })
    await anonymous.notification.unsubscribe({ token: daily, subscribed: true })
    expect(await user.caller.notification.digest.get()).toMatchObject({ daily: true })

    const all = await unsubscribeToken(db.prisma, user.user.id, 'all')
    expect(await anonymous.notification.unsubscribe({ token: all })).toMatchObject({ what: 'every email from TaskTracker Pro' })
    expect(await user.caller.notification.digest.get()).toMatchObject({ daily: false, weekly: false })
    expect((await user.caller.notification.preferences.get()).preferences.filter(p => p.channel === 'email' && p.enabled)).toEqual([])
    // Back on = back to the defaults (daily digest, assignments and mentions by email).
    await anonymous.notification.unsubscribe({ token: all, subscribed: true })
    expect(await user.caller.notification.digest.get()).toMatchObject({ daily: true })
    expect((await user.caller.notification.preferences.get()).preferences.filter(p => p.channel === 'email' && p.enabled).map(p => p.type).sort()).toEqual(['assigned', 'mentioned'])

    // Someone else's link cannot be made from mine; a token for a deleted account changes nothing.
    const [payload, mac] = daily.split('.')
    const forged = `${Buffer.from(JSON.stringify({ u: 'someone-else', k: 'daily' })).toString('base64url')}.${mac}`
    expect((await failure(anonymous.notification.unsubscribe({ token: forged }))).fieldErrors).toMatchObject({ token: [expect.stringMatching(/not valid/)] })
    expect((await failure(anonymous.notification.unsubscribe({ token: `${payload}` }))).code).toBe('BAD_REQUEST')
    const gone = await unsubscribeToken(db.prisma, 'no-such-user', 'weekly')
    expect(await anonymous.notification.unsubscribe({ token: gone })).toMatchObject({ what: 'the weekly digest' })
  })
})
