// Signed unsubscribe links (RFC 8058 one-click and the page behind the footer link): the token names
// a user and a kind of email, signed with an HMAC key kept in the database (AppSecret), so a link
// works on every instance, needs no sign-in, and cannot be forged for someone else.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { configurableNotificationTypes, notificationTypeLabels, type NotificationType } from '../../shared/schemas/notification'
import { getOrCreateAppSecret } from '../services/wsTicket'
import type { Db, DbTx } from '../utils/db'

export const UNSUBSCRIBE_SECRET_NAME = 'email-unsubscribe-hmac'

/** What one link turns off: a digest, the emails of some notification types, or every email. */
export type UnsubscribeKind = 'daily' | 'weekly' | 'all' | `notify:${string}`

const secrets = new WeakMap<object, Promise<string>>()
function secret(db: DbTx): Promise<string> {
  let s = secrets.get(db)
  if (!s) {
    s = getOrCreateAppSecret(db, UNSUBSCRIBE_SECRET_NAME)
    secrets.set(db, s)
    s.catch(() => secrets.delete(db))
  }
  return s
}

function sign(key: string, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url')
}

export interface UnsubscribeSigner {
  token: (userId: string, kind: UnsubscribeKind) => string
}

/** Signs tokens without further database reads (get it before a transaction; PGlite has one connection). */
export async function unsubscribeSigner(db: DbTx): Promise<UnsubscribeSigner> {
  const key = await secret(db)
  return {
    token: (userId, kind) => {
      const payload = Buffer.from(JSON.stringify({ u: userId, k: kind })).toString('base64url')
      return `${payload}.${sign(key, payload)}`
    },
  }
}

export async function unsubscribeToken(db: DbTx, userId: string, kind: UnsubscribeKind): Promise<string> {
  return (await unsubscribeSigner(db)).token(userId, kind)
}

export interface UnsubscribeTarget {
  userId: string
  kind: UnsubscribeKind
}

/** The user and kind a token was signed for, or null for anything else. Never throws. */
export async function verifyUnsubscribeToken(db: DbTx, token: string): Promise<UnsubscribeTarget | null> {
  if (typeof token !== 'string' || token.length > 600) return null
  const [payload, mac, extra] = token.split('.')
  if (!payload || !mac || extra !== undefined) return null
  const expected = Buffer.from(sign(await secret(db), payload))
  const given = Buffer.from(mac)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null
  try {
    const { u, k } = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { u?: unknown, k?: unknown }
    if (typeof u !== 'string' || typeof k !== 'string' || !isKind(k)) return null
    return { userId: u, kind: k }
  }
  catch {
    return null
  }
}

function notifyTypes(kind: string): NotificationType[] {
  return kind.slice('notify:'.length).split(',').filter((t): t is NotificationType => (configurableNotificationTypes as string[]).includes(t))
}

function isKind(k: string): k is UnsubscribeKind {
  if (k === 'daily' || k === 'weekly' || k === 'all') return true
  return k.startsWith('notify:') && notifyTypes(k).length > 0
}

export function unsubscribeUrl(origin: string, token: string): string {
  return `${origin}/email/unsubscribe?token=${encodeURIComponent(token)}`
}

/** The RFC 8058 endpoint: POST `List-Unsubscribe=One-Click` to it (mail clients do). */
export function oneClickUrl(origin: string, token: string): string {
  return `${origin}/api/email/unsubscribe?token=${encodeURIComponent(token)}`
}

export function unsubscribeHeaders(origin: string, token: string): Record<string, string> {
  return { 'List-Unsubscribe': `<${oneClickUrl(origin, token)}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
}

/** What a kind is called on the page and in the footer ("the daily digest"). */
export function describeKind(kind: UnsubscribeKind): string {
  if (kind === 'daily') return 'the daily digest'
  if (kind === 'weekly') return 'the weekly digest'
  if (kind === 'all') return 'every email from TaskTracker Pro'
  return `emails about: ${notifyTypes(kind).map(t => notificationTypeLabels[t].toLowerCase()).join(', ')}`
}

export interface UnsubscribeResult {
  kind: UnsubscribeKind
  /** "the daily digest", "emails about: mentions of you" */
  what: string
  subscribed: boolean
}

/** Turns the kind of email off (or back on) for the token's user. */
export async function applyUnsubscribe(db: Db, target: UnsubscribeTarget, subscribed: boolean): Promise<UnsubscribeResult> {
  const { userId, kind } = target
  await db.$transaction(async (tx) => {
    const settings = async (data: { digestDaily?: boolean, digestWeekly?: boolean }) =>
      tx.notificationSettings.upsert({ where: { userId }, create: { userId, ...data }, update: { ...data, updatedAt: new Date() } })
    const setEmail = async (types: readonly NotificationType[], enabled: boolean) => {
      for (const type of types) {
        await tx.notificationPreference.upsert({
          where: { userId_type_channel: { userId, type, channel: 'email' } },
          create: { userId, type, channel: 'email', enabled },
          update: { enabled },
        })
      }
    }
    if (kind === 'daily') await settings({ digestDaily: subscribed })
    else if (kind === 'weekly') await settings({ digestWeekly: subscribed })
    else if (kind === 'all' && !subscribed) {
      await settings({ digestDaily: false, digestWeekly: false })
      await setEmail(configurableNotificationTypes, false)
    }
    else if (kind === 'all') {
      // Back to the defaults: the daily digest, and email for what is addressed to you.
      await settings({ digestDaily: true })
      await tx.notificationPreference.deleteMany({ where: { userId, channel: 'email' } })
    }
    else await setEmail(notifyTypes(kind), subscribed)
  })
  return { kind, what: describeKind(kind), subscribed }
}
