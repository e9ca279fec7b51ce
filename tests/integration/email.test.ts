import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, toNodeListener } from 'h3'
import type { ParsedMail } from 'mailparser'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Mailer } from '../../server/email/mailer'
import { processDueNotificationEmails } from '../../server/email/immediate'
import { claimBatch, drainOutbox, enqueueEmail, outboxLimits } from '../../server/email/outbox'
import { smtpTransport, type MailTransport } from '../../server/email/transport'
import { notificationsSettled } from '../../server/notifications/notifier'
import unsubscribeRoute from '../../server/routes/api/email/unsubscribe'
import { setAppDatabase } from '../../server/utils/database'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, taskInput } from '../factories'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'
import { startTestSmtp, type TestSmtp } from '../setup/smtp'
import { freePort } from '../setup/postgres'
import { installTestServices } from '../setup/services'

const ORIGIN = 'https://tasks.example.test'

/** A header as sent (mailparser folds List-* headers into its own structure). */
function header(mail: ParsedMail, name: string): string {
  const line = mail.headerLines.find(h => h.key === name.toLowerCase())?.line ?? ''
  return line.slice(line.indexOf(':') + 1).replace(/\r?\n\s+/g, ' ').trim()
}
/** The HTML part with attribute entities decoded (Handlebars escapes "=" in URLs as &#x3D;). */
const html = (mail: ParsedMail) => String(mail.html).replace(/&#x3D;/g, '=').replace(/&amp;/g, '&')
/** The List-Unsubscribe URL, without its angle brackets. */
const listUnsubscribe = (mail: ParsedMail) => header(mail, 'List-Unsubscribe').replace(/^<|>$/g, '')
const FROM = 'TaskTracker Pro <no-reply@tasks.example.test>'

describe.runIf(databaseAvailable)('email', () => {
  let db: Database
  let smtp: TestSmtp
  let transport: MailTransport
  let mailer: Mailer | null = null
  let restore: (() => void) | undefined
  const defaults = { ...outboxLimits }

  beforeAll(async () => {
    db = await createTestDatabase()
    smtp = await startTestSmtp()
    transport = smtpTransport(smtp.url, { maxConnections: 1 })
  })
  afterEach(async () => {
    await notificationsSettled()
    await mailer?.stop()
    mailer = null
    restore?.()
    restore = undefined
    smtp.reset()
    Object.assign(outboxLimits, defaults)
    // Each test starts with an empty outbox and no pending notifications.
    await db.prisma.emailOutbox.deleteMany()
    await db.prisma.emailPending.deleteMany()
  })
  afterAll(async () => {
    transport?.close()
    await smtp?.close()
    await db?.close()
  })

  /** The mailer a running instance has (channel + loop), sending to the test SMTP server. */
  function startMailer(delayMs = 0) {
    mailer = new Mailer({ db: db.prisma, transport: smtpTransport(smtp.url), from: FROM, origin: ORIGIN, delayMs, pollMs: 60_000 }).start()
    restore = installTestServices({ mailer }).restore
    return mailer
  }

  const drain = (now?: Date) => drainOutbox(db.prisma, transport, FROM, now ? { now: () => now } : {})
  const outbox = () => db.prisma.emailOutbox.findMany({ orderBy: { createdAt: 'asc' } })
  const message = (i: number) => ({ userId: null, kind: 'test' as const, to: `someone${i}@example.test`, subject: `Message ${i}`, html: `<p>Message ${i}</p>`, text: `Message ${i}` })

  async function team() {
    const t = await projectWithTeam(db)
    const ben = await t.addMember('MEMBER')
    await notificationsSettled()
    // The "added to the project" notice is not what these tests are about.
    await ben.caller.notification.markAllRead()
    return { ana: t.owner, ben, project: t.project, addMember: t.addMember }
  }

  describe('outbox', () => {
    it('sends an HTML and a plain-text part, with one-click List-Unsubscribe headers and working links', async () => {
      const { ben } = await team()
      startMailer()
      const queued = await ben.caller.notification.digest.sendTest()
      expect(queued).toMatchObject({ queued: true, to: ben.user.email, delivery: 'smtp' })
      const mail = await smtp.next()
      expect(mail.subject).toBe('Test email from TaskTracker Pro')
      expect(mail.from?.value[0]).toMatchObject({ name: 'TaskTracker Pro', address: 'no-reply@tasks.example.test' })
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe(ben.user.email)
      expect(html(mail)).toContain('Email works')
      expect(html(mail)).toContain(`href="${ORIGIN}/settings/notifications#email"`)
      expect(mail.text).toContain(`${ORIGIN}/settings/notifications#email`)
      expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click')
      expect(listUnsubscribe(mail)).toMatch(new RegExp(`^${ORIGIN}/api/email/unsubscribe\\?token=`))
      await mailer!.idle()
      expect(await outbox()).toMatchObject([{ status: 'sent', attempts: 1, kind: 'test', lastError: null }])
    })

    it('retries a message the server answered 451, and sends it on the next attempt', async () => {
      await enqueueEmail(db.prisma, message(1))
      smtp.reply = () => 451
      const start = new Date()
      expect(await drain(start)).toEqual({ sent: 0, retried: 1, failed: 0 })
      const [row] = await outbox()
      expect(row).toMatchObject({ status: 'queued', attempts: 1, lockToken: null })
      expect(row!.lastError).toContain('451')
      expect(row!.nextAttemptAt.getTime()).toBe(start.getTime() + outboxLimits.backoffBaseMs)
      // Not due yet: nothing is sent before the backoff has passed.
      expect(await drain(start)).toEqual({ sent: 0, retried: 0, failed: 0 })

      smtp.reply = null
      const received = smtp.received.length
      expect(await drain(new Date(start.getTime() + outboxLimits.backoffBaseMs))).toEqual({ sent: 1, retried: 0, failed: 0 })
      expect(smtp.received.slice(received).map(m => m.subject)).toEqual(['Message 1'])
      expect(await outbox()).toMatchObject([{ status: 'sent', attempts: 2 }])
    })

    it('gives up on a message the server answered 550 and never retries it', async () => {
      await enqueueEmail(db.prisma, message(2))
      smtp.reply = () => 550
      const attempts = smtp.attempts
      expect(await drain()).toEqual({ sent: 0, retried: 0, failed: 1 })
      const [row] = await outbox()
      expect(row).toMatchObject({ status: 'failed', attempts: 1 })
      expect(row!.lastError).toContain('550')
      smtp.reply = null
      expect(await drain(new Date(Date.now() + 24 * 3_600_000))).toEqual({ sent: 0, retried: 0, failed: 0 })
      expect(smtp.attempts).toBe(attempts + 1)
    })

    it('treats a refused connection as temporary', async () => {
      const closed = smtpTransport(`smtp://127.0.0.1:${await freePort()}`)
      await enqueueEmail(db.prisma, message(3))
      const result = await drainOutbox(db.prisma, closed, FROM)
      closed.close()
      expect(result).toEqual({ sent: 0, retried: 1, failed: 0 })
      expect(await outbox()).toMatchObject([{ status: 'queued', attempts: 1 }])
    })

    it('two senders draining one database at once send every message exactly once', async () => {
      outboxLimits.batchSize = 5
      for (let i = 0; i < 30; i++) await enqueueEmail(db.prisma, message(100 + i))
      const before = smtp.received.length
      const other = smtpTransport(smtp.url, { maxConnections: 2 })
      const [a, b] = await Promise.all([drain(), drainOutbox(db.prisma, other, FROM)])
      other.close()
      expect(a.sent + b.sent).toBe(30)
      const subjects = smtp.received.slice(before).map(m => m.subject)
      expect(subjects).toHaveLength(30)
      expect(new Set(subjects).size).toBe(30)
      expect((await outbox()).every(r => r.status === 'sent' && r.attempts === 1)).toBe(true)
    })

    it('a message claimed by a sender that died is sent by another once the lease has run out', async () => {
      await enqueueEmail(db.prisma, message(4))
      const now = new Date()
      expect(await claimBatch(db.prisma, 10, now, 'dead-instance')).toHaveLength(1)
      // While the lease runs nobody else takes it…
      expect(await drain(now)).toEqual({ sent: 0, retried: 0, failed: 0 })
      // …and afterwards it is not stuck.
      expect(await drain(new Date(now.getTime() + outboxLimits.leaseMs + 1000))).toEqual({ sent: 1, retried: 0, failed: 0 })
      expect(await outbox()).toMatchObject([{ status: 'sent', attempts: 2 }])
    })
  })

  describe('immediate emails', () => {
    it('emails a mention still unread after the delay, linking to the task', async () => {
      const { ana, ben, project } = await team()
      startMailer(0)
      const task = await ana.caller.task.create(taskInput(project.id, { title: 'Ship the email channel' }))
      await ana.caller.comment.create({ taskId: task.id, body: `@${ben.user.username} can you review?` })
      const mail = await smtp.next()
      expect(mail.subject).toBe(`${ana.user.name} mentioned you in a comment on 'Ship the email channel'`)
      const link = `${ORIGIN}/projects/${project.id}?task=${task.id}`
      expect(html(mail)).toContain(`href="${link}"`)
      expect(mail.text).toContain(link)
      expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click')
    })

    it('sends nothing for a notification read in the app before the delay ran out; one email per task otherwise', async () => {
      const { ana, ben, project } = await team()
      const delayMs = 300_000
      startMailer(delayMs)
      const seen = await ana.caller.task.create(taskInput(project.id, { title: 'Seen in the app', assigneeId: ben.user.id }))
      const unseen = await ana.caller.task.create(taskInput(project.id, { title: 'Not seen', assigneeId: ben.user.id }))
      await ana.caller.comment.create({ taskId: unseen.id, body: `@${ben.user.username} this one too` })
      await notificationsSettled()
      expect(await db.prisma.emailPending.count({ where: { userId: ben.user.id } })).toBe(3)
      // Before the delay: nothing is due.
      expect(await processDueNotificationEmails(db.prisma, { origin: ORIGIN })).toBe(0)

      await ben.caller.notification.markTaskRead({ taskId: seen.id })
      const later = new Date(Date.now() + delayMs + 1000)
      expect(await processDueNotificationEmails(db.prisma, { origin: ORIGIN }, later)).toBe(1)
      const rows = await outbox()
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ to: ben.user.email, kind: 'notification', subject: expect.stringMatching(/^2 updates on .*Not seen$/) })
      expect(rows[0]!.text).toContain(`${ana.user.name} assigned you to 'Not seen'`)
      expect(rows[0]!.text).toContain(`${ana.user.name} mentioned you in a comment on 'Not seen'`)
      expect(rows[0]!.text).not.toContain('Seen in the app')
      expect(await db.prisma.emailPending.count({ where: { userId: ben.user.id } })).toBe(0)
    })

    it('honours mutes and email preferences at sending time, and holds emails during do-not-disturb', async () => {
      const { ana, ben, project } = await team()
      startMailer(300_000)
      const later = () => new Date(Date.now() + 301_000)
      // Muted after it happened: no email.
      const muted = await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      await notificationsSettled()
      await ben.caller.notification.mute({ taskId: muted.id })
      expect(await processDueNotificationEmails(db.prisma, { origin: ORIGIN }, later())).toBe(0)
      // Email switched off for the type: nothing is even queued.
      await ben.caller.notification.preferences.update({ preferences: [{ type: 'assigned', channel: 'email', enabled: false }] })
      await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      await notificationsSettled()
      expect(await db.prisma.emailPending.count({ where: { userId: ben.user.id } })).toBe(0)
      await ben.caller.notification.preferences.update({ preferences: [{ type: 'assigned', channel: 'email', enabled: true }] })

      // Do-not-disturb: held until it ends, then sent.
      await db.prisma.user.update({ where: { id: ben.user.id }, data: { status: 'DND' } })
      await ana.caller.task.create(taskInput(project.id, { title: 'During DND', assigneeId: ben.user.id }))
      await notificationsSettled()
      expect(await processDueNotificationEmails(db.prisma, { origin: ORIGIN }, later())).toBe(0)
      expect(await db.prisma.emailPending.count({ where: { userId: ben.user.id } })).toBe(1)
      await db.prisma.user.update({ where: { id: ben.user.id }, data: { status: 'AVAILABLE' } })
      expect(await processDueNotificationEmails(db.prisma, { origin: ORIGIN }, new Date(Date.now() + 400_000))).toBe(1)
      expect((await outbox()).map(r => r.subject)).toEqual([`${ana.user.name} assigned you to 'During DND'`])
    })

    it('a one-click POST to List-Unsubscribe stops that kind of email, and nothing else', async () => {
      const { ana, ben, project } = await team()
      startMailer(0)
      setAppDatabase(Promise.resolve(db))
      const app = createApp().use('/api/email/unsubscribe', unsubscribeRoute)
      const server: Server = createServer(toNodeListener(app))
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      try {
        const task = await ana.caller.task.create(taskInput(project.id))
        await ana.caller.comment.create({ taskId: task.id, body: `@${ben.user.username} first` })
        const first = await smtp.next()
        const url = new URL(listUnsubscribe(first))
        const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}${url.pathname}${url.search}`

        // Not the one-click body, or a forged token: refused, nothing changes.
        expect((await fetch(local, { method: 'POST', body: 'hello' })).status).toBe(400)
        expect((await fetch(local.replace(/token=[^&]+/, 'token=abc.def'), { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status).toBe(400)
        // A GET (someone opening the URL) goes to the page that asks first.
        const get = await fetch(local, { redirect: 'manual' })
        expect(get.status).toBe(303)
        expect(get.headers.get('location')).toMatch(/^\/email\/unsubscribe\?token=/)

        const res = await fetch(local, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })
        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ ok: true, unsubscribed: 'emails about: mentions of you' })

        const prefs = await ben.caller.notification.preferences.get()
        expect(prefs.preferences.find(p => p.type === 'mentioned' && p.channel === 'email')).toMatchObject({ enabled: false })
        await ana.caller.comment.create({ taskId: task.id, body: `@${ben.user.username} second` })
        // Assignments still email: the next message is the assignment, not the second mention.
        await ana.caller.task.create(taskInput(project.id, { title: 'Still emailed', assigneeId: ben.user.id }))
        const next = await smtp.next()
        expect(next.subject).toBe(`${ana.user.name} assigned you to 'Still emailed'`)
        await mailer!.idle()
        expect((await outbox()).filter(r => r.subject.includes('mentioned'))).toHaveLength(1)

        // The page's "turn it back on".
        const token = url.searchParams.get('token')!
        expect(await ana.caller.notification.unsubscribe({ token, subscribed: true })).toMatchObject({ subscribed: true, what: 'emails about: mentions of you' })
        expect((await ben.caller.notification.preferences.get()).preferences.find(p => p.type === 'mentioned' && p.channel === 'email')).toMatchObject({ enabled: true })
        expect((await failure(ana.caller.notification.unsubscribe({ token: `${token}x` }))).code).toBe('BAD_REQUEST')
      }
      finally {
        await new Promise(resolve => server.close(resolve))
      }
    })
  })
})

describe('development mailbox', () => {
  it('writes each message as an .eml file and lists it, newest first, with its HTML', async () => {
    const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { fileTransport, readMailbox, transportFromEnv } = await import('../../server/email/transport')
    const dir = mkdtempSync(join(tmpdir(), 'tt-mail-'))
    try {
      expect(transportFromEnv({ NODE_ENV: 'production', MAIL_DIR: dir }).kind).toBe('none')
      expect(transportFromEnv({ NODE_ENV: 'development', MAIL_DIR: dir }).kind).toBe('files')
      const files = fileTransport(dir)
      for (const n of [1, 2]) {
        await files.send({ id: `m${n}`, from: FROM, to: `ben${n}@example.test`, subject: `Hello ${n}`, html: `<p>Hi ${n}</p>`, text: `Hi ${n}`, headers: { 'List-Unsubscribe': '<https://x.test/u>' } })
      }
      const eml = readdirSync(dir).filter(f => f.endsWith('.eml'))
      expect(eml).toHaveLength(2)
      const raw = readFileSync(join(dir, eml[0]!), 'utf8')
      expect(raw).toMatch(/^List-Unsubscribe: <https:\/\/x\.test\/u>$/m)
      expect(raw).toMatch(/multipart\/alternative/)
      expect((await readMailbox(dir)).map(m => [m.subject, m.to, m.html])).toEqual([['Hello 2', 'ben2@example.test', '<p>Hi 2</p>'], ['Hello 1', 'ben1@example.test', '<p>Hi 1</p>']])
      expect(await readMailbox(join(dir, 'missing'))).toEqual([])
    }
    finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
