// Two production servers on one PostgreSQL with DIGEST_CRON="* * * * *": both run the digest task
// every minute, and each user whose digest hour has come gets exactly one digest, through a real
// SMTP server. The one-click unsubscribe of that digest then works on the production build.
import type { ParsedMail } from 'mailparser'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findPostgresBin, startPostgres, type PostgresServer } from '../setup/postgres'
import { startTestSmtp, type TestSmtp } from '../setup/smtp'
import { startAppServer, type AppServer } from './appServer'
import { httpClient } from './helpers'

const MINUTE_WAIT_MS = 150_000

describe.runIf(Boolean(findPostgresBin()))('digests with two instances on one PostgreSQL', () => {
  let postgres: PostgresServer | undefined
  let smtp: TestSmtp | undefined
  let db: pg.Client | undefined
  const servers: AppServer[] = []

  beforeAll(async () => {
    ;[postgres, smtp] = await Promise.all([startPostgres(), startTestSmtp()])
    // TEST='' : Nitro does not start scheduled tasks when it thinks it runs under a test runner.
    const env = { DATABASE_URL: postgres.url('postgres'), SMTP_URL: smtp.url, DIGEST_CRON: '* * * * *', LOG_LEVEL: 'info', TEST: '' }
    servers.push(await startAppServer(env))
    servers.push(await startAppServer(env))
    db = new pg.Client({ connectionString: postgres.url('postgres') })
    await db.connect()
  })
  afterAll(async () => {
    await db?.end()
    await Promise.all(servers.map(s => s.stop()))
    await smtp?.close()
    await postgres?.stop()
  })

  /** Resolves once every instance has logged `count` digest runs (polled: the log is the only signal). */
  async function digestRuns(count: number) {
    const deadline = Date.now() + MINUTE_WAIT_MS
    const runs = (s: AppServer) => s.output().split('\n').filter(l => l.includes('digest run')).length
    while (servers.some(s => runs(s) < count)) {
      if (Date.now() > deadline) throw new Error(`digest runs: ${servers.map(runs).join(', ')}\n${servers.map(s => s.output()).join('\n---\n')}`)
      await new Promise(r => setTimeout(r, 250))
    }
  }

  const digestRows = async () => (await db!.query<{ to: string, status: string }>(`SELECT "to", "status" FROM "EmailOutbox" WHERE "kind" = 'digest_daily' ORDER BY "to"`)).rows

  it('each user whose digest hour has come gets exactly one digest, and one-click unsubscribe turns it off', async () => {
    const [a, b] = servers as [AppServer, AppServer]
    const hourNow = new Date().getUTCHours()
    const users = []
    for (let i = 0; i < 4; i++) {
      const client = httpClient(i % 2 ? b.baseUrl : a.baseUrl)
      const name = `dig${i}${Date.now().toString(36)}`
      const user = await client.client.auth.register.mutate({ email: `${name}@example.test`, username: name, name: `Digest ${i}`, password: 'correct horse battery' })
      // Something to report: a task of their own, due today.
      const project = await client.client.project.create.mutate({ name: `Digest project ${i}` })
      const today = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()))
      await client.client.task.create.mutate({ projectId: project.id, title: `Report ${i}`, assigneeId: user.id, dueDate: today })
      users.push({ user, client })
    }
    // Three users' hour is now (or passed); the fourth's comes later today (when there is a later
    // hour). Two hours later, not one: a run that starts at 14:59 and sees its digests at 15:00 must
    // not find the fourth user's hour come too.
    for (const { client } of users.slice(0, 3)) await client.client.notification.digest.update.mutate({ timeZone: 'UTC', hour: hourNow })
    const later = hourNow < 22
    await users[3]!.client.client.notification.digest.update.mutate(later ? { timeZone: 'UTC', hour: hourNow + 2 } : { daily: false })

    const expected = users.slice(0, 3).map(u => u.user.email).sort()
    const received: ParsedMail[] = []
    for (let i = 0; i < expected.length; i++) received.push(await smtp!.next(MINUTE_WAIT_MS))
    expect(received.map(m => (m.to && !Array.isArray(m.to) ? m.to.text : '')).sort()).toEqual(expected)
    expect(received.every(m => m.subject === 'Your daily digest: 1 due today')).toBe(true)

    // Both instances ran the task at least twice since: still exactly one digest per user.
    const runsNow = Math.min(...servers.map(s => s.output().split('\n').filter(l => l.includes('digest run')).length))
    await digestRuns(runsNow + 1)
    expect((await digestRows()).map(r => r.to)).toEqual(expected)
    expect(smtp!.received.filter(m => m.subject?.startsWith('Your daily digest'))).toHaveLength(3)

    // RFC 8058 one-click, as a mail client does it: POST without cookies.
    const link = received[0]!.headerLines.find(h => h.key === 'list-unsubscribe')!.line.match(/<([^>]+)>/)![1]!
    const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, unsubscribed: 'the daily digest' })
    const owner = users.find(u => u.user.email === (received[0]!.to && !Array.isArray(received[0]!.to) ? received[0]!.to.text : ''))!
    expect(await owner.client.client.notification.digest.get.query()).toMatchObject({ daily: false })
  })
})
