import { z } from 'zod'
import { idSchema, int4, pgDate, seqStringSchema, statusLabels, text, type TaskStatus } from './common'

/** Every kind of notification; `summary` is the one a flood folds into (per-user cap). */
export const notificationTypeValues = [
  'assigned',
  'unassigned',
  'mentioned',
  'status_changed',
  'commented',
  'due_date_changed',
  'member_added',
  'member_removed',
  'summary',
] as const
export const notificationTypeSchema = z.enum(notificationTypeValues)
export type NotificationType = z.infer<typeof notificationTypeSchema>

/** Types a user can switch on and off (summary follows the types it summarises). */
export const configurableNotificationTypes = notificationTypeValues.filter(t => t !== 'summary') as Exclude<NotificationType, 'summary'>[]

export const notificationChannelValues = ['inApp', 'email', 'push'] as const
export const notificationChannelSchema = z.enum(notificationChannelValues)
export type NotificationChannelName = z.infer<typeof notificationChannelSchema>

export const notificationTypeLabels: Record<NotificationType, string> = {
  assigned: 'Assigned to you',
  unassigned: 'Unassigned from you',
  mentioned: 'Mentions of you',
  status_changed: 'Status changes on tasks you follow',
  commented: 'Comments on tasks you follow',
  due_date_changed: 'Due-date changes on tasks you follow',
  member_added: 'People added to your projects',
  member_removed: 'People leaving or removed from your projects',
  summary: 'Summaries of bursts',
}

export const notificationChannelLabels: Record<NotificationChannelName, string> = {
  inApp: 'In app',
  email: 'Email',
  push: 'Push',
}

/** Directly addressed: delivered at once, never merged with others nor folded into a summary. */
export const immediateNotificationTypes: readonly NotificationType[] = ['assigned', 'unassigned', 'mentioned']

/**
 * Defaults when the user has not chosen: everything in the app; only what is addressed to you by
 * email and push (the channels of a later issue), so nobody's inbox fills by default.
 */
export function defaultPreference(type: NotificationType, channel: NotificationChannelName): boolean {
  if (channel === 'inApp') return true
  return type === 'assigned' || type === 'mentioned'
}

// --- @mentions -------------------------------------------------------------------------------

/** `@username` where the @ starts a word (not inside an email address); usernames follow usernameSchema. */
const mentionPattern = /(?<![\w@.-])@([a-z0-9][a-z0-9_-]{2,31})(?![\w-])/gi

/** The distinct lowercase usernames mentioned in a text. */
export function extractMentions(text: string | null | undefined): string[] {
  if (!text) return []
  const found = new Set<string>()
  for (const match of text.matchAll(mentionPattern)) found.add(match[1]!.toLowerCase())
  return [...found]
}

// --- procedure inputs ------------------------------------------------------------------------

export const notificationListInput = z.object({
  unread: z.boolean().optional(),
  type: notificationTypeSchema.optional(),
  projectId: idSchema.optional(),
  archived: z.boolean().optional(),
  /** the `seq` of the last item of the previous page */
  cursor: int4({ min: 1 }).nullish(),
  limit: int4({ min: 1, max: 100 }).default(30),
})
export type NotificationListInput = z.infer<typeof notificationListInput>

export const notificationIdsInput = z.object({ ids: z.array(idSchema).min(1).max(500) })
export const notificationMarkReadInput = notificationIdsInput.extend({ read: z.boolean().default(true) })
export const notificationArchiveInput = notificationIdsInput.extend({ archived: z.boolean().default(true) })

export const notificationPreferencesUpdateInput = z.object({
  preferences: z.array(z.object({
    type: notificationTypeSchema.exclude(['summary']),
    channel: notificationChannelSchema,
    enabled: z.boolean(),
  })).max(100).default([]),
  sound: z.boolean().optional(),
})
export type NotificationPreferencesUpdateInput = z.infer<typeof notificationPreferencesUpdateInput>

export const muteInput = z.object({
  projectId: idSchema.optional(),
  taskId: idSchema.optional(),
  /** absent or null = until unmuted */
  until: pgDate().nullish(),
}).refine(v => Boolean(v.projectId) !== Boolean(v.taskId), { message: 'Mute either a project or a task', path: ['projectId'] })
export type MuteInput = z.infer<typeof muteInput>

export const unmuteInput = z.object({ id: idSchema })
export const watchInput = z.object({ taskId: idSchema })
export const notificationOnEventInput = z.object({ lastEventId: seqStringSchema('A notification id is the decimal seq of a notification').nullish() })
/** The polling fallback of notification.onEvent: what changed after `lastEventId`, the same resume id. */
export const notificationEventsSinceInput = z.object({
  lastEventId: seqStringSchema('A notification id is the decimal seq of a notification'),
  limit: int4({ min: 1, max: 200 }).default(100),
})

// --- what clients receive ----------------------------------------------------------------------

export interface NotificationActor { id: string, username: string, name: string }

/** A notification as the list and the stream carry it. */
export interface NotificationItem {
  id: string
  seq: number
  type: NotificationType
  projectId: string | null
  taskId: string | null
  count: number
  actorCount: number
  latestActor: NotificationActor | null
  data: NotificationData
  silent: boolean
  readAt: Date | null
  archivedAt: Date | null
  createdAt: Date
  updatedAt: Date
}

/** Denormalised at delivery time, so the text survives renames and needs no joins. */
export interface NotificationData {
  projectName?: string
  projectKey?: string
  taskTitle?: string
  taskNumber?: number
  /** status_changed / due_date_changed: the newest values */
  from?: string | null
  to?: string | null
  /** commented / mentioned in a comment: the start of the comment */
  excerpt?: string
  /** mentioned: where */
  source?: 'description' | 'comment'
  /** member_added / member_removed: who, and whether it is the recipient */
  memberName?: string
  memberIsYou?: boolean
  left?: boolean
  /** summary: how many notifications were folded in */
  folded?: number
}

/**
 * What `notification.onEvent` yields, always as `tracked(String(seq))`: a new or changed
 * notification (its seq), or a change of read / archived state made elsewhere (the newest seq so
 * far). `unreadCount` is the badge after the change.
 */
export type NotificationStreamEvent
  = | { kind: 'notification', notification: NotificationItem, unreadCount: number }
    | { kind: 'state', ids: string[] | 'all', read?: boolean, archived?: boolean, unreadCount: number }

// --- text ------------------------------------------------------------------------------------

function who(n: Pick<NotificationItem, 'latestActor' | 'actorCount'>): string {
  const name = n.latestActor?.name ?? 'Someone'
  const others = n.actorCount - 1
  if (others <= 0) return name
  return `${name} and ${others} other${others === 1 ? '' : 's'}`
}

function statusText(value: string | null | undefined): string {
  return value ? (statusLabels[value as TaskStatus] ?? value) : 'none'
}

function dateText(value: string | null | undefined): string {
  return value ? new Date(value).toISOString().slice(0, 10) : 'no date'
}

/** One line for the center and the toast: "Ana and 2 others commented on 'Fix login'". */
export function notificationText(n: Pick<NotificationItem, 'type' | 'latestActor' | 'actorCount' | 'count' | 'data'>): string {
  const actor = who(n)
  const task = `'${n.data.taskTitle ?? 'a task'}'`
  const times = n.count > 1 && n.actorCount <= 1 ? ` (${n.count}×)` : ''
  switch (n.type) {
    case 'assigned': return `${actor} assigned you to ${task}`
    case 'unassigned': return `${actor} unassigned you from ${task}`
    case 'mentioned': return `${actor} mentioned you in ${n.data.source === 'comment' ? 'a comment on ' : ''}${task}`
    case 'status_changed': return `${actor} moved ${task} to ${statusText(n.data.to)}${times}`
    case 'commented': return `${actor} commented on ${task}${times}`
    case 'due_date_changed': return `${actor} changed the due date of ${task} to ${dateText(n.data.to)}${times}`
    case 'member_added':
      return n.data.memberIsYou
        ? `${actor} added you to ${n.data.projectName ?? 'a project'}`
        : `${actor} added ${n.data.memberName ?? 'someone'} to ${n.data.projectName ?? 'a project'}`
    case 'member_removed':
      if (n.data.memberIsYou) return `${actor} removed you from ${n.data.projectName ?? 'a project'}`
      return n.data.left
        ? `${n.data.memberName ?? 'Someone'} left ${n.data.projectName ?? 'a project'}`
        : `${actor} removed ${n.data.memberName ?? 'someone'} from ${n.data.projectName ?? 'a project'}`
    case 'summary': return `${n.data.folded ?? n.count} more notifications arrived in a burst`
  }
}

/** Where a notification leads in the app. */
export function notificationLink(n: Pick<NotificationItem, 'projectId' | 'taskId' | 'type' | 'data'>): string | null {
  if (n.type === 'member_removed' && n.data.memberIsYou) return null
  if (n.projectId && n.taskId) return `/projects/${n.projectId}?task=${n.taskId}`
  if (n.projectId) return `/projects/${n.projectId}`
  return null
}

// --- @mention autocomplete (editors) -----------------------------------------------------------

/** The `@partial` being typed right before the caret, or null (not after a word character, like an email). */
export function mentionQueryAt(text: string, caret: number): { start: number, query: string } | null {
  const match = /(?:^|[^\w@.-])@([a-z0-9_-]{0,32})$/i.exec(text.slice(0, caret))
  if (!match) return null
  const query = match[1]!
  return { start: caret - query.length - 1, query: query.toLowerCase() }
}

/** The text with the `@partial` at `start` (up to the caret) replaced by `@username `, and the new caret. */
export function insertMention(text: string, start: number, caret: number, username: string): { text: string, caret: number } {
  const inserted = `@${username} `
  return { text: text.slice(0, start) + inserted + text.slice(caret).replace(/^ /, ''), caret: start + inserted.length }
}

// --- email digests -----------------------------------------------------------------------------

/** Whether the runtime knows this IANA time zone ("Europe/Paris", "UTC"). */
export function isValidTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value })
    return true
  }
  catch {
    return false
  }
}

export const timeZoneSchema = z
  .string()
  .trim()
  .min(1, 'Required')
  .max(64, 'At most 64 characters')
  .refine(isValidTimeZone, 'Unknown time zone: use an IANA name such as Europe/Paris')
  // The runtime's canonical spelling ("utc" → "UTC").
  .transform(value => new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone)

export const weekdayLabels = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const

export const digestUpdateInput = z.object({
  daily: z.boolean().optional(),
  weekly: z.boolean().optional(),
  /** 0 = Sunday … 6 = Saturday */
  weekday: z.number({ error: 'Choose a weekday' }).int().min(0, 'A weekday is 0 (Sunday) to 6 (Saturday)').max(6, 'A weekday is 0 (Sunday) to 6 (Saturday)').optional(),
  /** local hour the digests go out from */
  hour: z.number({ error: 'Choose an hour' }).int().min(0, 'An hour is 0 to 23').max(23, 'An hour is 0 to 23').optional(),
  timeZone: timeZoneSchema.optional(),
})
export type DigestUpdateInput = z.infer<typeof digestUpdateInput>

export const digestPeriodValues = ['daily', 'weekly'] as const
export const digestPreviewInput = z.object({ period: z.enum(digestPeriodValues).default('daily') })
/** The browser's zone, sent after sign-in: kept unless the user picked one in Settings → Email. */
export const detectTimeZoneInput = z.object({ timeZone: timeZoneSchema })
export const unsubscribeInput = z.object({ token: text().min(1, 'Missing token').max(600, 'Not a valid link') })

export interface DigestSettings {
  daily: boolean
  weekly: boolean
  weekday: number
  hour: number
  timeZone: string
  /** how this server sends email: smtp, files (development: .eml files), none (production without SMTP) */
  delivery: 'smtp' | 'files' | 'none'
}
