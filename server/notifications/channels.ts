import { notificationChannelValues, type NotificationChannelName, type NotificationData, type NotificationType } from '../../shared/schemas/notification'
import type { Db } from '../utils/db'
import { inAppChannel } from './inApp'

/**
 * One notification for one recipient, decided once by the notifier (who, what, which channels) and
 * handed to every channel the recipient enabled for its type. Channels decide how: the in-app
 * channel stores, merges and streams it; email parks it in EmailPending, push queues encrypted messages
 * (server/push).
 */
export interface Delivery {
  recipientId: string
  type: NotificationType
  projectId: string | null
  taskId: string | null
  actorId: string | null
  data: NotificationData
  /** the recipient is in do-not-disturb: keep the notification, no toast, sound or push */
  silent: boolean
  /** when it happened (the notifier's clock) */
  at: Date
}

export interface NotificationChannel {
  readonly name: NotificationChannelName
  /** Must not throw for one bad delivery: the notifier logs a channel's failure and goes on. */
  deliver: (db: Db, deliveries: Delivery[]) => Promise<void>
}

const channels = new Map<NotificationChannelName, NotificationChannel>()

/** Installs (or replaces) the implementation of a channel; returns the previous one. */
export function registerChannel(channel: NotificationChannel): NotificationChannel | undefined {
  const previous = channels.get(channel.name)
  channels.set(channel.name, channel)
  return previous
}

export function unregisterChannel(name: NotificationChannelName) {
  channels.delete(name)
}

/**
 * The channels in the order of `notificationChannelValues`: in-app first, so that email can link a
 * delivery to the notification just stored. In-app is always on (read here at call time: inApp.ts
 * reaches the installed services, whose imports come back to the notifier).
 */
export function activeChannels(): NotificationChannel[] {
  const active: NotificationChannel[] = []
  for (const name of notificationChannelValues) {
    const channel = channels.get(name) ?? (name === 'inApp' ? inAppChannel : undefined)
    if (channel) active.push(channel)
  }
  return active
}
