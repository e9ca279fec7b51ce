import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import type { Env } from '../utils/env'

/** One message as the outbox holds it. */
export interface OutgoingEmail {
  id: string
  from: string
  to: string
  subject: string
  html: string
  text: string
  headers: Record<string, string>
}

export interface MailTransport {
  /** smtp: nodemailer over SMTP_URL; files: .eml files under MAIL_DIR (development); none: production without SMTP */
  readonly kind: 'smtp' | 'files' | 'none'
  send: (message: OutgoingEmail) => Promise<{ messageId: string }>
  close: () => void
}

/** A failure the outbox should retry (4xx replies, refused or dropped connections) or give up on (5xx). */
export function isPermanentFailure(error: unknown): boolean {
  const e = error as { responseCode?: number, permanent?: boolean }
  if (typeof e.permanent === 'boolean') return e.permanent
  return typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600
}

/** SMTP through nodemailer, pooled (a few connections reused for a batch). Credentials stay in the URL. */
export function smtpTransport(url: string, opts: { maxConnections?: number } = {}): MailTransport {
  // Pooled unless the URL says otherwise (?pool=false): a digest run sends thousands of messages.
  const transporter = nodemailer.createTransport({ url, pool: true, maxConnections: opts.maxConnections ?? 3, connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 })
  return {
    kind: 'smtp',
    async send(m) {
      const info = await transporter.sendMail({ from: m.from, to: m.to, subject: m.subject, html: m.html, text: m.text, headers: m.headers, messageId: `<${m.id}@tasktracker>` })
      return { messageId: info.messageId }
    },
    close: () => transporter.close(),
  }
}

export interface MailboxEntry {
  file: string
  from: string
  to: string
  subject: string
  date: string
  html: string
  text: string
  headers: Record<string, string>
}

/** The newest messages the file transport wrote (the development mailbox page). */
export async function readMailbox(dir: string, limit = 50): Promise<MailboxEntry[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const newest = names.filter(n => n.endsWith('.eml.json')).sort().reverse().slice(0, limit)
  return Promise.all(newest.map(async n => JSON.parse(await readFile(join(dir, n), 'utf8')) as MailboxEntry))
}

/** Development without SMTP: each message becomes `<MAIL_DIR>/<time>-<id>.eml`, listed by the dev mailbox page. */
export function fileTransport(dir: string): MailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    kind: 'files',
    async send(m) {
      const info = await composer.sendMail({ from: m.from, to: m.to, subject: m.subject, html: m.html, text: m.text, headers: m.headers, messageId: `<${m.id}@tasktracker>` })
      await mkdir(dir, { recursive: true })
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${m.id}.eml`
      await writeFile(join(dir, name), info.message as Buffer)
      // What the development mailbox page lists and shows, without parsing MIME.
      const entry: MailboxEntry = { file: name, from: m.from, to: m.to, subject: m.subject, date: new Date().toISOString(), html: m.html, text: m.text, headers: m.headers }
      await writeFile(join(dir, `${name}.json`), JSON.stringify(entry))
      return { messageId: info.messageId }
    },
    close: () => composer.close(),
  }
}

/** Production without SMTP_URL: nothing is sent (one warning at start); queued mail waits for a configured instance. */
export const noTransport: MailTransport = {
  kind: 'none',
  send: () => Promise.reject(Object.assign(new Error('No SMTP_URL configured'), { permanent: false })),
  close: () => {},
}

export function transportFromEnv(env: Pick<Env, 'SMTP_URL' | 'MAIL_DIR' | 'NODE_ENV'>): MailTransport {
  if (env.SMTP_URL) return smtpTransport(env.SMTP_URL)
  if (env.NODE_ENV === 'production') return noTransport
  return fileTransport(env.MAIL_DIR)
}
