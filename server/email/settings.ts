// Settings → Email: digest choices, the time zone, the preview, the test email, and the
// unsubscribe page's calls.
import type { DigestSettings, DigestUpdateInput } from '../../shared/schemas/notification'
import { DomainError } from '../services/errors'
import type { Db } from '../utils/db'
import { useEnv } from '../utils/env'
import { previewDigest } from './digest'
import { useMailer } from './mailer'
import { enqueueEmail } from './outbox'
import { defaultDigestPrefs, type DigestPeriod } from './period'
import { renderEmail } from './templates'
import { applyUnsubscribe, describeKind, unsubscribeHeaders, unsubscribeToken, unsubscribeUrl, verifyUnsubscribeToken } from './unsubscribe'

/** Links in emails point here: the running mailer's origin (PUBLIC_ORIGIN). */
export function mailOrigin(): string {
  return useMailer()?.options.origin ?? useEnv().PUBLIC_ORIGIN
}

function delivery(): DigestSettings['delivery'] {
  return useMailer()?.transport.kind ?? 'none'
}

export async function getDigestSettings(db: Db, userId: string): Promise<DigestSettings> {
  const user = await db.user.findUniqueOrThrow({
    where: { id: userId },
    select: { timezone: true, notificationSettings: { select: { digestDaily: true, digestWeekly: true, digestWeekday: true, digestHour: true } } },
  })
  const s = user.notificationSettings
  return {
    daily: s?.digestDaily ?? defaultDigestPrefs.daily,
    weekly: s?.digestWeekly ?? defaultDigestPrefs.weekly,
    weekday: s?.digestWeekday ?? defaultDigestPrefs.weekday,
    hour: s?.digestHour ?? defaultDigestPrefs.hour,
    timeZone: user.timezone,
    delivery: delivery(),
  }
}

export async function updateDigestSettings(db: Db, userId: string, input: DigestUpdateInput): Promise<DigestSettings> {
  const data = {
    ...(input.daily !== undefined ? { digestDaily: input.daily } : {}),
    ...(input.weekly !== undefined ? { digestWeekly: input.weekly } : {}),
    ...(input.weekday !== undefined ? { digestWeekday: input.weekday } : {}),
    ...(input.hour !== undefined ? { digestHour: input.hour } : {}),
    ...(input.timeZone !== undefined ? { timeZoneChosenAt: new Date() } : {}),
  }
  await db.$transaction(async (tx) => {
    await tx.notificationSettings.upsert({ where: { userId }, create: { userId, ...data }, update: { ...data, updatedAt: new Date() } })
    if (input.timeZone !== undefined) await tx.user.update({ where: { id: userId }, data: { timezone: input.timeZone } })
  })
  return getDigestSettings(db, userId)
}

/** The browser's zone at sign-in; ignored once the user picked a zone in the settings. */
export async function detectTimeZone(db: Db, userId: string, timeZone: string): Promise<{ timeZone: string }> {
  const settings = await db.notificationSettings.findUnique({ where: { userId }, select: { timeZoneChosenAt: true } })
  if (!settings?.timeZoneChosenAt) await db.user.update({ where: { id: userId }, data: { timezone: timeZone } })
  const user = await db.user.findUniqueOrThrow({ where: { id: userId }, select: { timezone: true } })
  return { timeZone: user.timezone }
}

export async function digestPreview(db: Db, userId: string, period: DigestPeriod, origin: string) {
  const preview = await previewDigest(db, userId, period, origin)
  return preview ? { empty: false as const, subject: preview.subject, html: preview.html, text: preview.text } : { empty: true as const }
}

/** Queues a short email to the user's own address, and asks the mailer to send it now. */
export async function sendTestEmail(db: Db, userId: string, origin: string): Promise<{ queued: true, to: string, delivery: DigestSettings['delivery'] }> {
  const user = await db.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true, name: true } })
  const token = await unsubscribeToken(db, userId, 'all')
  const rendered = await renderEmail({
    subject: 'Test email from TaskTracker Pro',
    preheader: 'Email delivery works.',
    heading: 'Email works',
    intro: `Hi ${user.name}, this is the test email you asked for. Digests and notification emails reach you at this address.`,
    blocks: [],
    cta: { label: 'Open your email settings', url: `${origin}/settings/notifications#email` },
    reason: 'You get this email because you clicked "Send me a test email" in Settings → Email.',
    unsubscribe: { label: 'Turn off every email', url: unsubscribeUrl(origin, token) },
    settingsUrl: `${origin}/settings/notifications#email`,
    origin,
  })
  await enqueueEmail(db, { ...rendered, userId, kind: 'test', to: user.email, headers: unsubscribeHeaders(origin, token) })
  useMailer()?.kick()
  return { queued: true, to: user.email, delivery: delivery() }
}

const badLink = () => new DomainError('BAD_REQUEST', 'This unsubscribe link is not valid. Open Settings → Email to choose your emails.', { field: 'token' })

/** Turns the link's kind of email off (or, `subscribed: true`, back on). No sign-in needed: the link is signed. */
export async function unsubscribeWithToken(db: Db, token: string, subscribed: boolean) {
  const target = await verifyUnsubscribeToken(db, token)
  if (!target) throw badLink()
  const exists = await db.user.findUnique({ where: { id: target.userId }, select: { id: true } })
  if (!exists) return { kind: target.kind, what: describeKind(target.kind), subscribed }
  return applyUnsubscribe(db, target, subscribed)
}
