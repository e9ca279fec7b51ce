import { DescriptionHub } from './collab/descriptionHub'
import { RedisDocBus } from './collab/docBus'
import type { Mailer } from './email/mailer'
import { dndFromUserStatus, type DndLookup } from './notifications/dnd'
import { notificationsSettled } from './notifications/notifier'
import { systemClock, type Clock } from './notifications/clock'
import { MemoryUserBus, RedisUserBus, type UserBus } from './notifications/userBus'
import { PresenceHub, type PresenceHubOptions } from './presence/hub'
import { MemoryPresenceStore, RedisPresenceStore } from './presence/store'
import type { PushSender } from './push/sender'
import { MemoryEventBus, type EventBus } from './realtime/bus'
import { RedisBus } from './realtime/redisBus'
import { MemoryRevocationBus, RecentRevocations, RedisRevocationBus, type RevocationBus } from './realtime/revocation'
import { MemorySocketSlots, RedisSocketSlots, type SocketSlots } from './realtime/socketSlots'
import { SseStreams } from './realtime/sseStreams'
import { createSignInLimits, type SignInLimits } from './services/signInLimits'
import { transformer } from './trpc/transformer'
import { useEnv, type Env } from './utils/env'
import { logger } from './utils/logger'
import { callLimiter, limiterRedisConnection, memoryStore, redisStore, watchLimiterConnection, type CallLimiter, type CallRate } from './utils/rateLimit'

// The composition root (issue 16): every service one server instance runs with, built in one place
// for one configuration. server/plugins/services.ts builds them for the runtime config and installs
// them; the tRPC context carries them (`ctx.services`); `useEventBus()`, `usePresenceHub()` … are thin
// reads of the installed set; tests build and install their own (tests/setup/services.ts).
// Process-wide by nature, and so not here: the logger, the database, readiness and the shutdown flag.
// The accessors' modules and this one import each other: nothing in them may use another at load time.

/**
 * Calls over HTTP, per user (per client address when signed out); every call of a batch takes a
 * token. Generous for a real UI (a board load is a handful of calls, typing in a form a few a
 * second), tight enough that one client cannot keep the database pool busy.
 */
export const HTTP_CALL_LIMIT = { capacity: 120, perSecond: 30 } as const

/** Calls over a WebSocket, per user (per IP when unauthenticated): 30 at once, 10 per second after that (see `callLimiter`). */
export const SOCKET_CALL_LIMIT = { capacity: 30, perSecond: 10 } as const

/** The HTTP budget configured by HTTP_CALL_BURST and HTTP_CALLS_PER_SECOND (their defaults are HTTP_CALL_LIMIT). */
export function httpCallRateOf(env: Pick<Env, 'HTTP_CALL_BURST' | 'HTTP_CALLS_PER_SECOND'>): CallRate {
  return { capacity: env.HTTP_CALL_BURST, perSecond: env.HTTP_CALLS_PER_SECOND }
}

export interface ServicesConfig {
  /** Redis for the buses, presence, socket slots and limits, shared by every instance; in process without it */
  redisUrl?: string
  /** the HTTP call budget (HTTP_CALL_BURST / HTTP_CALLS_PER_SECOND); HTTP_CALL_LIMIT by default */
  httpRate?: CallRate
  /** options of the presence hub (`onSeen` writes `lastSeenAt`) */
  presence?: PresenceHubOptions
  /** SSE streams per user; SSE_MAX_PER_USER by default */
  sseMaxPerUser?: () => number
}

export interface Services {
  /** project events: HTTP mutations publish, subscriptions listen */
  bus: EventBus
  /** each user's notifications */
  userBus: UserBus
  presence: PresenceHub
  descriptions: DescriptionHub
  /** ends the sockets and SSE streams of a revoked credential, on every instance */
  revocations: RevocationBus
  /** what `revocations` carried lately (WebSocket tickets consult it) */
  recentRevocations: RecentRevocations
  socketSlots: SocketSlots
  sseStreams: SseStreams
  limits: { http: CallLimiter, socket: CallLimiter, signIn: SignInLimits }
  /** which users are in do-not-disturb (the notifier, the email channel) */
  dnd: DndLookup
  /** the notifier's clock (coalescing windows, mutes) */
  clock: Clock
  /** the mailer and the push sender need the database: the services plugin adds them once it is open */
  mailer: Mailer | null
  pushSender: PushSender | null
  /** origins accepted next to the public push services; null: the environment's PUSH_ENDPOINT_ALLOWLIST */
  pushEndpointOrigins: readonly string[] | null
  /** the router's output serializer: direct fan-out frames match the adapter's (server/realtime/fanout.ts) */
  serialize: (value: unknown) => unknown
}

/** Parts to replace when building services (tests); limits one by one. */
export type ServiceOverrides = Partial<Omit<Services, 'limits'>> & { limits?: Partial<Services['limits']> }

/** What `createServices` opened, closed in order at shutdown ({@link closeServices}). */
const closers = new WeakMap<Services, () => Promise<void>>()

/**
 * Builds the services for `config`; `overrides` replace single parts (tests: a Redis bus, a fixed
 * clock, a tight limiter). Nothing is started: the caller starts the presence hub if it wants sweeps.
 */
export function createServices(config: ServicesConfig = {}, overrides: ServiceOverrides = {}): Services {
  const { redisUrl } = config
  const own: Array<{ close: () => Promise<unknown> }> = []
  const opened = <T extends { close: () => Promise<unknown> }>(part: T): T => {
    own.push(part)
    return part
  }
  const { http, socket, signIn } = overrides.limits ?? {}
  const limiterRedis = redisUrl && !(http && socket && signIn) ? limiterRedisConnection(redisUrl) : null
  const limiterStore = limiterRedis ? redisStore(limiterRedis) : memoryStore()
  const unwatch = limiterRedis
    ? watchLimiterConnection(limiterRedis, {
        onDown: () => logger.error('rate limits: Redis is unreachable; counting per instance until it answers again'),
        onUp: () => logger.info('rate limits: Redis answers again; limits are shared by all instances'),
      })
    : () => {}
  const presenceStore = overrides.presence ? null : redisUrl ? opened(new RedisPresenceStore(redisUrl)) : new MemoryPresenceStore()
  const docBus = overrides.descriptions || !redisUrl ? null : opened(new RedisDocBus(redisUrl))
  const services: Services = {
    bus: overrides.bus ?? (redisUrl ? opened(new RedisBus(redisUrl)) : new MemoryEventBus()),
    userBus: overrides.userBus ?? (redisUrl ? opened(new RedisUserBus(redisUrl)) : new MemoryUserBus()),
    presence: overrides.presence ?? new PresenceHub(presenceStore!, config.presence),
    descriptions: overrides.descriptions ?? new DescriptionHub(docBus ?? undefined),
    revocations: overrides.revocations ?? (redisUrl ? opened(new RedisRevocationBus(redisUrl)) : new MemoryRevocationBus()),
    recentRevocations: overrides.recentRevocations ?? new RecentRevocations(),
    socketSlots: overrides.socketSlots ?? (redisUrl ? opened(new RedisSocketSlots(redisUrl)) : new MemorySocketSlots()),
    sseStreams: overrides.sseStreams ?? new SseStreams({
      maxPerUser: config.sseMaxPerUser ?? (() => useEnv().SSE_MAX_PER_USER),
      slots: () => services.socketSlots,
      revocations: () => services.revocations,
    }),
    limits: {
      http: http ?? callLimiter(limiterStore, 'http', config.httpRate ?? HTTP_CALL_LIMIT),
      socket: socket ?? callLimiter(limiterStore, 'ws', SOCKET_CALL_LIMIT),
      signIn: signIn ?? createSignInLimits(limiterStore),
    },
    dnd: overrides.dnd ?? dndFromUserStatus,
    clock: overrides.clock ?? systemClock,
    mailer: overrides.mailer ?? null,
    pushSender: overrides.pushSender ?? null,
    pushEndpointOrigins: overrides.pushEndpointOrigins ?? null,
    serialize: overrides.serialize ?? transformer.output.serialize,
  }
  // What the revocation bus carries, from any instance, is remembered for a while: WebSocket tickets consult it.
  const stopRecording = services.revocations.subscribe(revocation => services.recentRevocations.add(revocation))
  closers.set(services, async () => {
    stopRecording()
    unwatch()
    // Texts not yet written to Task.description are, and mails being sent finish (nothing half-sent
    // stays claimed), and notifications of committed writes are stored, before connections close.
    await services.descriptions.stop()
    await services.mailer?.stop()
    await notificationsSettled()
    await services.presence.stop()
    await services.pushSender?.stop()
    await Promise.all(own.map(part => part.close()))
    if (limiterRedis) {
      try {
        await limiterRedis.quit()
      }
      catch {
        limiterRedis.disconnect()
      }
    }
  })
  return services
}

/** Stops what the services run (hubs, mailer, push queue) and closes the connections `createServices` opened. */
export async function closeServices(services: Services): Promise<void> {
  await closers.get(services)?.()
}

let installed: Services | undefined

/** The installed services; an in-process set (no Redis, default limits) until something installs one. */
export function useServices(): Services {
  installed ??= createServices()
  return installed
}

/** Makes `services` the ones every accessor reads; returns the function that puts the previous set back. */
export function installServices(services: Services): () => void {
  const previous = installed
  installed = services
  return () => {
    if (installed === services) installed = previous
  }
}
