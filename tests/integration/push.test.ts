import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerChannel, unregisterChannel } from '../../server/notifications/channels'
import { notificationsSettled } from '../../server/notifications/notifier'
import { PresenceHub } from '../../server/presence/hub'
import { MemoryPresenceStore } from '../../server/presence/store'
import { createPushChannel, pushLimits } from '../../server/push/channel'
import { MAX_DEVICES_PER_USER } from '../../server/push/devices'
import { isAllowedPushEndpoint } from '../../server/push/endpoints'
import { pushCounters } from '../../server/push/pushMetrics'
import { PushSender, retryAfterMs } from '../../server/push/sender'
import { VAPID_SECRET_NAME, VapidKeySource, vapidKeys } from '../../server/push/vapid'
import { createMetrics } from '../../server/utils/metrics'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, taskInput } from '../factories'
import { TestPushService, type TestSubscription } from '../factories/pushService'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('web push', () => {
  let db: Database
  let service: TestPushService
  let sender: PushSender
  let hub: PresenceHub
  let restore: (() => void) | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
    service = await new TestPushService().start()
    sender = new PushSender({ db: db.prisma, keys: () => vapidKeys.get(db.prisma), backoffMs: 20, maxAttempts: 4, timeoutMs: 2_000 })
    registerChannel(createPushChannel({ sender: () => sender }))
    hub = new PresenceHub(new MemoryPresenceStore())
    restore = installTestServices({ pushSender: sender, pushEndpointOrigins: [service.origin], presence: hub }).restore
  })
  afterEach(async () => {
    await notificationsSettled()
    await sender.idle()
  })
  afterAll(async () => {
    unregisterChannel('push')
    await sender?.stop()
    restore?.()
    await hub?.stop()
    await service?.stop()
    await db?.close()
  })

  /** Ana owns a project, Ben is a member whose browser subscribed on the test push service. */
  async function team() {
    const t = await projectWithTeam(db)
    const ben = await t.addMember('MEMBER')
    const sub = service.subscription()
    await ben.caller.push.subscribe({ endpoint: sub.endpoint, keys: sub.keys, userAgent: 'Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36' })
    const task = await t.owner.caller.task.create(taskInput(t.project.id, { title: 'Fix login' }))
    await settled()
    return { ...t, ana: t.owner, ben, sub, task }
  }
  async function settled() {
    await notificationsSettled()
    await sender.idle()
  }
  const mentionBen = (t: Awaited<ReturnType<typeof team>>) => t.ana.caller.comment.create({ taskId: t.task.id, body: `@${t.ben.user.username} can you look?` })

  it('pushes a mention to Ben while he is away: encrypted, VAPID-signed, with title, body, tag and the task URL', async () => {
    const t = await team()
    const { publicKey } = await t.ben.caller.push.publicKey()
    expect(Buffer.from(publicKey, 'base64url')).toHaveLength(65)
    await mentionBen(t)
    await settled()
    expect(service.received(t.sub.name)).toHaveLength(1)
    const [arrival] = service.received(t.sub.name)
    expect(arrival!.payload).toEqual({
      title: `${t.project.key}-${t.task.number} · ${t.project.name}`,
      body: `${t.ana.user.name} mentioned you in a comment on 'Fix login'`,
      tag: `task-${t.task.id}`,
      url: `/projects/${t.project.id}?task=${t.task.id}`,
    })
    // Signed by the key browsers subscribed with; one topic per task; mentions are urgent.
    expect(arrival!.vapid.key).toBe(publicKey)
    expect(arrival!.vapid.sub).toMatch(/^(mailto:|https:)/)
    expect(arrival!.headers.topic).toBe(`task-${t.task.id}`)
    expect(arrival!.headers.urgency).toBe('high')
    expect(service.errors).toEqual([])
    expect((await t.ben.caller.push.list())[0]!.lastSuccessAt).not.toBeNull()
  })

  it('sends nothing in do-not-disturb, for a muted task, with push turned off for mentions, or while Ben looks at the task', async () => {
    const t = await team()
    await db.prisma.user.update({ where: { id: t.ben.user.id }, data: { status: 'DND' } })
    await mentionBen(t)
    await settled()
    await db.prisma.user.update({ where: { id: t.ben.user.id }, data: { status: 'AVAILABLE' } })

    const mute = await t.ben.caller.notification.mute({ taskId: t.task.id })
    await mentionBen(t)
    await settled()
    await t.ben.caller.notification.unmute({ id: mute.id })

    await t.ben.caller.notification.preferences.update({ preferences: [{ type: 'mentioned', channel: 'push', enabled: false }] })
    await mentionBen(t)
    await settled()
    await t.ben.caller.notification.preferences.update({ preferences: [{ type: 'mentioned', channel: 'push', enabled: true }] })

    // A visible, active tab on the task: he sees it there, no push. Hidden (idle) → push again.
    const conn = `conn-${randomBytes(4).toString('hex')}`
    await hub.join(conn, t.project.id, { id: t.ben.user.id, username: t.ben.user.username, name: t.ben.user.name, status: 'available' })
    await hub.update(conn, t.project.id, { taskId: t.task.id, idle: false })
    const skipped = pushCounters.skippedViewing
    await mentionBen(t)
    await settled()
    expect(pushCounters.skippedViewing).toBe(skipped + 1)
    expect(service.hits.get(t.sub.name)).toBeUndefined()
    // The in-app notifications were all kept (DND only silenced), except the muted one.
    expect((await t.ben.caller.notification.list({ type: 'mentioned' })).items).toHaveLength(3)

    await hub.update(conn, t.project.id, { idle: true })
    await mentionBen(t)
    await settled()
    expect(service.received(t.sub.name)).toHaveLength(1)
    await hub.connectionClosed(conn)
  })

  it('deletes a subscription the push service answers 410 (or 404) for', async () => {
    const t = await team()
    service.answer(t.sub.name, { status: 410 })
    const gone = pushCounters.gone
    await mentionBen(t)
    await settled()
    expect(await t.ben.caller.push.list()).toEqual([])
    expect(pushCounters.gone).toBe(gone + 1)
  })

  it('retries 429 after its Retry-After and 5xx with backoff, counting failures until a success', async () => {
    const t = await team()
    service.answer(t.sub.name, { status: 429, headers: { 'Retry-After': '1' } }, { status: 503 })
    await mentionBen(t)
    await settled()
    expect(service.received(t.sub.name)).toHaveLength(1)
    const hits = service.hits.get(t.sub.name)!
    expect(hits).toHaveLength(3)
    // backoffMs is 20 ms: the second try waited for Retry-After (1 s).
    expect(hits[1]! - hits[0]!).toBeGreaterThanOrEqual(950)
    await settled()
    const [device] = await t.ben.caller.push.list()
    expect(device).toMatchObject({ failures: 0 })
    expect(device!.lastSuccessAt).not.toBeNull()
  })

  it('gives up on a message after maxAttempts; the same user\'s other device still gets it', async () => {
    const t = await team()
    const other = service.subscription()
    await t.ben.caller.push.subscribe({ endpoint: other.endpoint, keys: other.keys })
    service.answer(t.sub.name, ...Array.from({ length: 4 }, () => ({ status: 500 })))
    const failed = pushCounters.failed
    await mentionBen(t)
    await settled()
    expect(service.received(other.name)).toHaveLength(1)
    expect(service.hits.get(t.sub.name)).toHaveLength(4)
    expect(pushCounters.failed).toBe(failed + 1)
    const devices = await t.ben.caller.push.list()
    expect(devices.find(d => d.service === new URL(service.origin).host && d.failures === 4)).toBeTruthy()
  })

  it('a push service that does not answer holds one request until the timeout, then it is retried; others go on', async () => {
    const t = await team()
    const other = service.subscription()
    await t.ben.caller.push.subscribe({ endpoint: other.endpoint, keys: other.keys })
    service.answer(t.sub.name, 'hang')
    await mentionBen(t)
    await vi.waitFor(() => expect(service.received(other.name)).toHaveLength(1), { timeout: 10_000 })
    expect(service.received(t.sub.name)).toEqual([])
    // timeoutMs is 2 s: the hung request is abandoned and the retry is answered.
    await vi.waitFor(() => expect(service.received(t.sub.name)).toHaveLength(1), { timeout: 15_000 })
    expect(service.hits.get(t.sub.name)).toHaveLength(2)
  })

  it('refuses endpoints outside the push services and the allowlist, and malformed keys', async () => {
    const t = await team()
    const sub = service.subscription()
    for (const endpoint of [
      'http://127.0.0.1:9/push/x',
      'https://169.254.169.254/latest/meta-data',
      'https://fcm.googleapis.com.evil.example/fcm/send/x',
      'http://fcm.googleapis.com/fcm/send/x',
      'https://fcm.googleapis.com:8443/fcm/send/x',
      'https://user:pw@fcm.googleapis.com/fcm/send/x',
      'file:///etc/passwd',
      'not a url',
    ]) {
      const refused = await failure(t.ben.caller.push.subscribe({ endpoint, keys: sub.keys }))
      expect(refused.code, endpoint).toBe('BAD_REQUEST')
    }
    expect(await failure(t.ben.caller.push.subscribe({ endpoint: sub.endpoint, keys: { ...sub.keys, p256dh: sub.keys.p256dh.slice(0, 40) } }))).toMatchObject({ code: 'BAD_REQUEST' })
    expect(await failure(t.ben.caller.push.subscribe({ endpoint: sub.endpoint, keys: { ...sub.keys, auth: randomBytes(8).toString('base64url') } }))).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await t.ben.caller.push.list()).map(d => d.service)).toEqual([new URL(service.origin).host])

    // The public push services pass.
    for (const endpoint of ['https://fcm.googleapis.com/fcm/send/abc', 'https://updates.push.services.mozilla.com/wpush/v2/abc', 'https://wns2-by3p.notify.windows.com/w/?token=abc', 'https://web.push.apple.com/QGx', 'https://api.push.apple.com/3/device/abc']) {
      expect(isAllowedPushEndpoint(endpoint, []), endpoint).toBe(true)
    }
    expect(isAllowedPushEndpoint(sub.endpoint, [])).toBe(false)
    expect(isAllowedPushEndpoint('https://push.services.mozilla.com/x', [])).toBe(false)
  })

  it('lists only the caller\'s devices, marks this device, and never removes another user\'s', async () => {
    const t = await team()
    const cleo = await t.addMember('MEMBER')
    const mine = service.subscription()
    const { id } = await cleo.caller.push.subscribe({ endpoint: mine.endpoint, keys: mine.keys, userAgent: 'Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/133.0' })
    const list = await cleo.caller.push.list({ endpoint: mine.endpoint })
    expect(list).toEqual([expect.objectContaining({ id, label: 'Firefox on Windows', thisDevice: true, failures: 0 })])
    const bens = await t.ben.caller.push.list({ endpoint: mine.endpoint })
    expect(bens).toHaveLength(1)
    expect(bens[0]).toMatchObject({ label: 'Chrome on Android', thisDevice: false })

    expect(await failure(t.ben.caller.push.remove({ id }))).toMatchObject({ code: 'NOT_FOUND' })
    expect(await t.ben.caller.push.unsubscribe({ endpoint: mine.endpoint })).toEqual({ removed: false })
    expect(await cleo.caller.push.list()).toHaveLength(1)

    await cleo.caller.push.remove({ id })
    expect(await cleo.caller.push.list()).toEqual([])
    expect(await t.ben.caller.push.unsubscribe({ endpoint: t.sub.endpoint })).toEqual({ removed: true })
    expect(await t.ben.caller.push.list()).toEqual([])
  })

  it('keeps at most MAX_DEVICES_PER_USER devices, and re-subscribing an endpoint replaces it', async () => {
    const t = await team()
    const subs: TestSubscription[] = []
    for (let i = 0; i < MAX_DEVICES_PER_USER + 1; i++) {
      const s = service.subscription()
      subs.push(s)
      await t.ben.caller.push.subscribe({ endpoint: s.endpoint, keys: s.keys })
    }
    const devices = await t.ben.caller.push.list()
    expect(devices).toHaveLength(MAX_DEVICES_PER_USER)
    const again = await t.ben.caller.push.subscribe({ endpoint: subs.at(-1)!.endpoint, keys: subs.at(-1)!.keys })
    expect(devices.map(d => d.id)).toContain(again.id)
    expect(await t.ben.caller.push.list()).toHaveLength(MAX_DEVICES_PER_USER)
  })

  it('folds a burst over the per-user cap into one summary push, never holding back mentions', async () => {
    const t = await team()
    const previous = pushLimits.perMinute
    pushLimits.perMinute = 2
    try {
      await t.ben.caller.notification.preferences.update({ preferences: [{ type: 'commented', channel: 'push', enabled: true }] })
      await t.ana.caller.task.update({ id: t.task.id, baseVersion: 1, patch: { assigneeId: t.ben.user.id } })
      for (let i = 0; i < 3; i++) await t.ana.caller.comment.create({ taskId: t.task.id, body: `note ${i}` })
      await mentionBen(t)
      await settled()
      const bodies = service.received(t.sub.name).map(a => (a.payload as { body: string }).body)
      expect(bodies.filter(b => b.includes('more notifications arrived'))).not.toHaveLength(0)
      expect(bodies.some(b => b.includes('mentioned you'))).toBe(true)
      expect(bodies.some(b => b.includes('assigned you'))).toBe(true)
    }
    finally {
      pushLimits.perMinute = previous
    }
  })

  it('exposes the queue depth and message counts as metrics', async () => {
    const metrics = createMetrics({ defaultMetrics: false })
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/^tt_push_queue_depth 0$/m)
    expect(text).toMatch(/^tt_push_messages_total\{outcome="sent"\} [1-9]\d*$/m)
    expect(text).toMatch(/^tt_push_messages_total\{outcome="gone"\} [1-9]\d*$/m)
  })

  it('generates the VAPID pair once and shares it through the database; an environment pair wins', async () => {
    const env = { VAPID_PUBLIC_KEY: undefined, VAPID_PRIVATE_KEY: undefined, vapidSubject: 'mailto:ops@example.test' }
    const [a, b] = await Promise.all([new VapidKeySource(() => env).get(db.prisma), new VapidKeySource(() => env).get(db.prisma)])
    expect(a).toEqual(b)
    expect(Buffer.from(a.publicKey, 'base64url')).toHaveLength(65)
    expect(Buffer.from(a.privateKey, 'base64url')).toHaveLength(32)
    expect(a.subject).toBe('mailto:ops@example.test')
    expect(JSON.parse((await db.prisma.appSecret.findUniqueOrThrow({ where: { name: VAPID_SECRET_NAME } })).value)).toEqual({ publicKey: a.publicKey, privateKey: a.privateKey })
    const fixed = { VAPID_PUBLIC_KEY: 'pub', VAPID_PRIVATE_KEY: 'priv', vapidSubject: 'https://tasks.example.test' }
    expect(await new VapidKeySource(() => fixed).get(db.prisma)).toEqual({ publicKey: 'pub', privateKey: 'priv', subject: 'https://tasks.example.test' })
  })

  it('drops what is still queued when stopped, and takes nothing after', async () => {
    const t = await team()
    const stopping = new PushSender({ db: db.prisma, keys: () => vapidKeys.get(db.prisma), backoffMs: 60_000 })
    service.answer(t.sub.name, { status: 503 })
    const target = { subscriptionId: (await t.ben.caller.push.list())[0]!.id, endpoint: t.sub.endpoint, ...t.sub.keys }
    stopping.enqueue([{ ...target, payload: { title: 't', body: 'b', tag: 'x', url: '/' } }])
    await vi.waitFor(() => expect(service.hits.get(t.sub.name)).toHaveLength(1), { timeout: 10_000 })
    // The 503 schedules a retry a minute later: it waits in the queue.
    await vi.waitFor(() => expect(stopping.depth()).toBe(1), { timeout: 10_000 })
    await stopping.stop()
    expect(stopping.depth()).toBe(0)
    stopping.enqueue([{ ...target, payload: { title: 't', body: 'b', tag: 'x', url: '/' } }])
    expect(stopping.depth()).toBe(0)
    await stopping.idle()
  })

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-12-02T10:00:00Z')
    expect(retryAfterMs('120', now)).toBe(120_000)
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:30 GMT', now)).toBe(30_000)
    expect(retryAfterMs('soon', now)).toBeNull()
    expect(retryAfterMs(null, now)).toBeNull()
  })
})
