// A user's push subscriptions ("devices"): subscribe, unsubscribe, list, remove. Every call acts on
// the caller's own rows only; an endpoint outside the allowed push services is BAD_REQUEST.
import { deviceLabel, type PushDevice, type PushSubscribeInput } from '../../shared/schemas/push'
import { DomainError } from '../services/errors'
import type { Db } from '../utils/db'
import { useEnv } from '../utils/env'
import { newId } from '../utils/ids'
import { isAllowedPushEndpoint } from './endpoints'
import { useServices } from '../container'

/** Most subscriptions one user keeps; subscribing one more drops the least recently successful. */
export const MAX_DEVICES_PER_USER = 20

/** Origins accepted next to the public push services (the services' own list, else PUSH_ENDPOINT_ALLOWLIST). */
export function pushEndpointOrigins(): readonly string[] {
  return useServices().pushEndpointOrigins ?? useEnv().pushEndpointOrigins
}

export function assertAllowedEndpoint(endpoint: string) {
  if (!isAllowedPushEndpoint(endpoint, pushEndpointOrigins())) {
    throw new DomainError('BAD_REQUEST', 'This push endpoint is not on a known push service', { field: 'endpoint' })
  }
}

/**
 * Stores the browser's subscription for `userId`. The endpoint is the identity: subscribing it again
 * (new keys, or another user signing in on that browser) replaces the row. Over the per-user cap the
 * device that last received a push longest ago goes.
 */
export async function subscribe(db: Db, userId: string, input: PushSubscribeInput): Promise<{ id: string }> {
  assertAllowedEndpoint(input.endpoint)
  const data = { userId, p256dh: input.keys.p256dh, auth: input.keys.auth, userAgent: input.userAgent ?? null, failures: 0 }
  const row = await db.pushSubscription.upsert({
    where: { endpoint: input.endpoint },
    create: { id: newId(), endpoint: input.endpoint, ...data },
    update: data,
    select: { id: true },
  })
  const all = await db.pushSubscription.findMany({
    where: { userId },
    select: { id: true, lastSuccessAt: true, createdAt: true },
  })
  if (all.length > MAX_DEVICES_PER_USER) {
    const time = (d: { lastSuccessAt: Date | null, createdAt: Date }) => (d.lastSuccessAt ?? d.createdAt).getTime()
    const drop = all.filter(d => d.id !== row.id).sort((a, b) => time(a) - time(b)).slice(0, all.length - MAX_DEVICES_PER_USER)
    await db.pushSubscription.deleteMany({ where: { id: { in: drop.map(d => d.id) }, userId } })
  }
  return row
}

/** Forgets this browser's subscription (the browser unsubscribed, or the user turned push off here). */
export async function unsubscribe(db: Db, userId: string, endpoint: string): Promise<{ removed: boolean }> {
  const { count } = await db.pushSubscription.deleteMany({ where: { userId, endpoint } })
  return { removed: count > 0 }
}

/** The user's devices, newest first; `endpoint` (the asking browser's own) marks "this device". */
export async function listDevices(db: Db, userId: string, endpoint?: string | null): Promise<PushDevice[]> {
  const rows = await db.pushSubscription.findMany({ where: { userId }, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] })
  return rows.map(r => ({
    id: r.id,
    label: deviceLabel(r.userAgent),
    userAgent: r.userAgent,
    service: new URL(r.endpoint).host,
    createdAt: r.createdAt,
    lastSuccessAt: r.lastSuccessAt,
    failures: r.failures,
    thisDevice: Boolean(endpoint) && r.endpoint === endpoint,
  }))
}

/** Removes one of the user's devices; NOT_FOUND for an id that is not theirs. */
export async function removeDevice(db: Db, userId: string, id: string): Promise<{ removed: true }> {
  const { count } = await db.pushSubscription.deleteMany({ where: { id, userId } })
  if (!count) throw new DomainError('NOT_FOUND', 'No such device')
  return { removed: true }
}
