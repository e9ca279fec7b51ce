import { isTrackedEnvelope } from '@trpc/server'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { notificationText, type NotificationItem, type NotificationStreamEvent, type NotificationType } from '../../shared/schemas/notification'
import { registerChannel, unregisterChannel } from '../../server/notifications/channels'
import { inAppLimits } from '../../server/notifications/inApp'
import { notificationsSettled } from '../../server/notifications/notifier'
import { MemoryUserBus } from '../../server/notifications/userBus'
import { createContextInner } from '../../server/trpc/context'
import { createCaller } from '../../server/trpc/routers/_app'
import type { Database } from '../../server/utils/db'
import { failure, projectWithTeam, signUp, taskInput, type Caller, type TestCookieJar } from '../factories'
import { installTestServices } from '../setup/services'
import { createTestDatabase, databaseAvailable } from '../setup/testDb'

describe.runIf(databaseAvailable)('notifications', () => {
  let db: Database
  let bus: MemoryUserBus
  let restore: (() => void) | undefined
  let now = new Date('2026-11-26T10:00:00Z')
  const defaults = { ...inAppLimits }
  const open: AbortController[] = []

  beforeAll(async () => {
    db = await createTestDatabase()
    bus = new MemoryUserBus()
    // The notifier's clock is the test's: windows and mutes move with advance().
    restore = installTestServices({ userBus: bus, clock: () => now }).restore
  })
  afterEach(async () => {
    await notificationsSettled()
    Object.assign(inAppLimits, defaults)
    bus.dropFilter = null
    for (const c of open.splice(0)) c.abort()
    // Each test starts far from the previous one's windows.
    now = new Date(now.getTime() + 3_600_000)
  })
  afterAll(async () => {
    restore?.()
    await db?.close()
  })

  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms)
  }

  /** The user's notifications (newest first) once everything committed so far has been processed. */
  async function inbox(user: { caller: Caller }, input: Parameters<Caller['notification']['list']>[0] = {}) {
    await notificationsSettled()
    return (await user.caller.notification.list(input)).items
  }
  const types = (items: NotificationItem[]) => items.map(n => n.type)
  const ofType = async (user: { caller: Caller }, type: NotificationType) => inbox(user, { type })

  /** A project with an owner (Ana), members Ben and Cleo and an admin; each new member's "added" notice is already read. */
  async function team() {
    const t = await projectWithTeam(db)
    const ben = await t.addMember('MEMBER')
    const cleo = await t.addMember('MEMBER')
    const admin = await t.addMember('ADMIN')
    await notificationsSettled()
    for (const u of [t.owner, ben, cleo, admin]) await u.caller.notification.markAllRead()
    // Out of the minute in which the "added" notices count towards the cap.
    advance(61_000)
    return { ...t, ana: t.owner, ben, cleo, admin }
  }
  const unread = (user: { caller: Caller }) => inbox(user, { unread: true })
  const readAll = async (...users: { caller: Caller }[]) => {
    await notificationsSettled()
    for (const u of users) await u.caller.notification.markAllRead()
  }

  describe('triggers', () => {
    it('tells the assignee (not the actor, not others) when assigned, and the previous one when unassigned', async () => {
      const { ana, ben, cleo, admin, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id, { title: 'Fix login', assigneeId: ben.user.id }))
      const [assigned] = await unread(ben)
      expect(assigned).toMatchObject({ type: 'assigned', projectId: project.id, taskId: task.id, latestActor: { id: ana.user.id }, count: 1, readAt: null })
      expect(notificationText(assigned!)).toBe(`${ana.user.name} assigned you to 'Fix login'`)
      expect(await unread(ana)).toEqual([])
      expect(await unread(cleo)).toEqual([])
      expect(await unread(admin)).toEqual([])

      await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { assigneeId: cleo.user.id } })
      expect(types(await unread(cleo))).toEqual(['assigned'])
      expect(types(await unread(ben))).toEqual(['unassigned', 'assigned'])

      // Assigning yourself notifies nobody.
      await cleo.caller.task.create(taskInput(project.id, { assigneeId: cleo.user.id }))
      expect(types(await unread(cleo))).toEqual(['assigned'])
    })

    it('resolves @mentions of project members only, in comments and descriptions, never the author', async () => {
      const { ana, ben, cleo, project } = await team()
      const outsider = await signUp(db)
      const task = await ana.caller.task.create(taskInput(project.id, { title: 'Mentions', description: `Ping @${cleo.user.username}` }))
      expect(await ofType(cleo, 'mentioned')).toMatchObject([{ data: { source: 'description', taskTitle: 'Mentions' } }])

      await ben.caller.comment.create({ taskId: task.id, body: `@${ana.user.username} and @${outsider.user.username}, @${ben.user.username}, email x@${cleo.user.username}.com @nosuchuser` })
      const [mention] = await unread(ana)
      expect(mention).toMatchObject({ type: 'mentioned', latestActor: { id: ben.user.id }, data: { source: 'comment' } })
      expect(mention!.data.excerpt).toContain(`@${ana.user.username}`)
      expect(notificationText(mention!)).toBe(`${ben.user.name} mentioned you in a comment on 'Mentions'`)
      expect(await inbox(outsider)).toEqual([])
      expect(await ofType(ben, 'mentioned')).toEqual([])
      // An address like x@cleo.com is not a mention.
      expect(await ofType(cleo, 'mentioned')).toHaveLength(1)
    })

    it('notifies a mention edited into a description once, not on later saves', async () => {
      const { ana, ben, cleo, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id, { description: 'Draft' }))
      const v2 = await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { description: `Draft, cc @${ben.user.username}` } })
      const v3 = await ana.caller.task.update({ id: task.id, baseVersion: v2.version, patch: { description: `Draft v2, cc @${ben.user.username}` } })
      await ana.caller.task.update({ id: task.id, baseVersion: v3.version, patch: { description: `Final, cc @${ben.user.username} and @${cleo.user.username}` } })
      expect(await ofType(ben, 'mentioned')).toHaveLength(1)
      expect(await ofType(cleo, 'mentioned')).toHaveLength(1)
    })

    it('tells followers (assignee, creator, commenters, watchers) about status, due date and comments; not unwatchers nor bystanders', async () => {
      const { ana, ben, cleo, admin, addMember, project } = await team()
      const dana = await addMember('MEMBER')
      const watcher = await addMember('VIEWER')
      const bystander = await addMember('MEMBER')
      await readAll(ana, admin, dana, watcher, bystander)

      // Ana creates, Ben is assigned, Cleo comments, the viewer clicks Watch.
      const task = await ana.caller.task.create(taskInput(project.id, { title: 'Followed', assigneeId: ben.user.id }))
      await cleo.caller.comment.create({ taskId: task.id, body: 'First!' })
      await watcher.caller.notification.watch({ taskId: task.id })
      // (The viewer may hear of Cleo's comment: the notifier reads who follows when it runs.)
      await readAll(ana, ben, cleo, watcher)

      await dana.caller.task.update({ id: task.id, baseVersion: 1, patch: { status: 'IN_PROGRESS' } })
      for (const u of [ana, ben, cleo, watcher]) {
        expect(await unread(u)).toMatchObject([{ type: 'status_changed', data: { from: 'TODO', to: 'IN_PROGRESS' }, latestActor: { id: dana.user.id } }])
      }
      for (const u of [dana, bystander, admin]) expect(await unread(u)).toEqual([])

      // Ana (the creator) clicks Unwatch: no more status changes for her; a board move also counts.
      expect(await ana.caller.notification.unwatch({ taskId: task.id })).toMatchObject({ watching: false, reason: 'unwatched' })
      await dana.caller.task.move({ id: task.id, status: 'DONE' })
      expect(await ofType(ana, 'status_changed')).toHaveLength(1)
      expect((await ofType(watcher, 'status_changed'))[0]).toMatchObject({ count: 2, data: { from: 'TODO', to: 'DONE' } })

      const due = new Date('2026-12-24T00:00:00Z')
      const current = await ana.caller.task.byId({ id: task.id })
      await dana.caller.task.update({ id: task.id, baseVersion: current.version, patch: { dueDate: due } })
      expect(await ofType(ben, 'due_date_changed')).toMatchObject([{ data: { to: due.toISOString() } }])
      expect(await ofType(bystander, 'due_date_changed')).toEqual([])

      await dana.caller.comment.create({ taskId: task.id, body: 'Shipped' })
      expect(await ofType(cleo, 'commented')).toMatchObject([{ data: { excerpt: 'Shipped' } }])
      expect(await inbox(ana, { type: 'commented', unread: true })).toEqual([])
      expect(await ofType(bystander, 'commented')).toEqual([])
      // Dana commented: she follows the task now.
      await ben.caller.comment.create({ taskId: task.id, body: 'Thanks' })
      expect(await ofType(dana, 'commented')).toHaveLength(1)
    })

    it('gives one notification per person and event: a mentioned follower gets the mention, not also the comment', async () => {
      const { ana, ben, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id))
      await ben.caller.comment.create({ taskId: task.id, body: `@${ana.user.username} look` })
      expect(types(await unread(ana))).toEqual(['mentioned'])
    })

    it('tells the added or removed member and the owners and admins, not plain members; departures too', async () => {
      const { ana, ben, admin, project } = await team()
      const newcomer = await signUp(db)
      await ana.caller.member.add({ projectId: project.id, username: newcomer.user.username, role: 'MEMBER' })
      expect(await unread(newcomer)).toMatchObject([{ type: 'member_added', data: { memberIsYou: true, projectName: project.name } }])
      expect(await unread(admin)).toMatchObject([{ type: 'member_added', data: { memberName: newcomer.user.name } }])
      expect(await unread(ana)).toEqual([])
      expect(await unread(ben)).toEqual([])

      // Removing an assignee: they hear that they were removed, not that they were unassigned.
      const task = await ana.caller.task.create(taskInput(project.id, { assigneeId: newcomer.user.id }))
      await readAll(newcomer, admin)
      await admin.caller.member.remove({ projectId: project.id, userId: newcomer.user.id })
      const [removed] = await unread(newcomer)
      expect(types(await unread(newcomer))).toEqual(['member_removed'])
      expect(notificationText(removed!)).toBe(`${admin.user.name} removed you from ${project.name}`)
      expect(await unread(ana)).toMatchObject([{ type: 'member_removed', data: { memberName: newcomer.user.name } }])
      expect(await unread(admin)).toEqual([])

      // A former member hears nothing more about the project's tasks.
      await ana.caller.task.update({ id: task.id, baseVersion: (await ana.caller.task.byId({ id: task.id })).version, patch: { status: 'DONE' } })
      expect(await unread(newcomer)).toHaveLength(1)

      await readAll(ana)
      await ben.caller.member.leave({ projectId: project.id })
      const [left] = await unread(ana)
      expect(left).toMatchObject({ type: 'member_removed', data: { left: true, memberName: ben.user.name } })
      expect(notificationText(left!)).toBe(`${ben.user.name} left ${project.name}`)
    })
  })

  describe('rules', () => {
    it('follows preferences per type and channel, with defaults', async () => {
      const { ana, ben, project } = await team()
      const initial = await ben.caller.notification.preferences.get()
      expect(initial.sound).toBe(true)
      expect(initial.preferences).toContainEqual({ type: 'commented', channel: 'inApp', enabled: true, isDefault: true })
      expect(initial.preferences).toContainEqual({ type: 'commented', channel: 'email', enabled: false, isDefault: true })
      expect(initial.preferences).toContainEqual({ type: 'mentioned', channel: 'email', enabled: true, isDefault: true })

      const updated = await ben.caller.notification.preferences.update({ preferences: [{ type: 'commented', channel: 'inApp', enabled: false }], sound: false })
      expect(updated.sound).toBe(false)
      expect(updated.preferences).toContainEqual({ type: 'commented', channel: 'inApp', enabled: false, isDefault: false })

      const task = await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      await readAll(ben)
      await ana.caller.comment.create({ taskId: task.id, body: 'No ping for Ben' })
      await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { status: 'IN_REVIEW' } })
      expect(types(await unread(ben))).toEqual(['status_changed'])
      // A comment that mentions him still arrives as a mention.
      await ana.caller.comment.create({ taskId: task.id, body: `@${ben.user.username} now?` })
      expect(types(await unread(ben))).toEqual(['mentioned', 'status_changed'])
    })

    it('mutes a project or a task, optionally until a time', async () => {
      const { ana, ben, project } = await team()
      const taskA = await ana.caller.task.create(taskInput(project.id))
      const taskB = await ana.caller.task.create(taskInput(project.id))
      const projectMute = await ben.caller.notification.mute({ projectId: project.id })
      await ana.caller.task.update({ id: taskA.id, baseVersion: 1, patch: { assigneeId: ben.user.id } })
      expect(await unread(ben)).toEqual([])
      expect(await ben.caller.notification.mutes()).toMatchObject([{ id: projectMute.id, project: { id: project.id } }])
      await ben.caller.notification.unmute({ id: projectMute.id })

      await ben.caller.notification.mute({ taskId: taskB.id, until: new Date(now.getTime() + 3_600_000) })
      await ana.caller.task.update({ id: taskB.id, baseVersion: 1, patch: { assigneeId: ben.user.id } })
      await ana.caller.comment.create({ taskId: taskA.id, body: 'on the unmuted task' })
      expect(types(await unread(ben))).toEqual(['commented'])

      advance(3_600_001)
      expect(await ben.caller.notification.mutes()).toEqual([])
      await ana.caller.task.update({ id: taskB.id, baseVersion: 2, patch: { status: 'DONE' } })
      expect(types(await unread(ben))).toEqual(['status_changed', 'commented'])

      const outsider = await signUp(db)
      expect((await failure(outsider.caller.notification.mute({ projectId: project.id }))).code).toBe('NOT_FOUND')
      expect((await failure(ben.caller.notification.mute({ taskId: taskA.id, projectId: project.id }))).code).toBe('BAD_REQUEST')
      expect((await failure(ben.caller.notification.mute({ taskId: taskA.id, until: new Date(now.getTime() - 1) }))).code).toBe('BAD_REQUEST')
      expect((await failure(outsider.caller.notification.unmute({ id: projectMute.id }))).code).toBe('NOT_FOUND')
    })

    it('merges repeats of one type, recipient and task within 2 minutes into one, with a count and the latest actor', async () => {
      const { ana, ben, cleo, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id, { title: 'Fix login' }))
      await ben.caller.comment.create({ taskId: task.id, body: 'one' })
      advance(30_000)
      await cleo.caller.comment.create({ taskId: task.id, body: 'two' })
      advance(60_000)
      await ben.caller.comment.create({ taskId: task.id, body: 'three' })
      const merged = await ofType(ana, 'commented')
      expect(merged).toHaveLength(1)
      expect(merged[0]).toMatchObject({ count: 3, actorCount: 2, latestActor: { id: ben.user.id }, data: { excerpt: 'three' } })
      expect(notificationText(merged[0]!)).toBe(`${ben.user.name} and 1 other commented on 'Fix login'`)

      // Past the window (counted from the first), a new one starts.
      advance(31_000)
      await cleo.caller.comment.create({ taskId: task.id, body: 'four' })
      expect((await ofType(ana, 'commented')).map(n => n.count)).toEqual([1, 3])

      // Once read, the next one is new, not a bump of something already seen.
      await readAll(ana)
      await cleo.caller.comment.create({ taskId: task.id, body: 'five' })
      expect((await ofType(ana, 'commented')).map(n => n.count)).toEqual([1, 1, 3])
    })

    it('never merges mentions or assignments', async () => {
      const { ana, ben, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id))
      await ben.caller.comment.create({ taskId: task.id, body: `@${ana.user.username} a` })
      await ben.caller.comment.create({ taskId: task.id, body: `@${ana.user.username} b` })
      expect((await ofType(ana, 'mentioned')).map(n => n.count)).toEqual([1, 1])
      await ana.caller.task.update({ id: task.id, baseVersion: 1, patch: { assigneeId: ben.user.id } })
      await ana.caller.task.update({ id: task.id, baseVersion: 2, patch: { assigneeId: null } })
      await ana.caller.task.update({ id: task.id, baseVersion: 3, patch: { assigneeId: ben.user.id } })
      expect(await ofType(ben, 'assigned')).toHaveLength(2)
    })

    it('folds more than N new notifications a minute into one summary; mentions still come through', async () => {
      const { ana, ben, project } = await team()
      inAppLimits.perMinute = 3
      const tasks = []
      for (let i = 0; i < 6; i++) tasks.push(await ben.caller.task.create(taskInput(project.id, { title: `Flood ${i}` })))
      // 3 notifications in the minute's budget, then 3 folded into one summary.
      for (const task of tasks) await ana.caller.comment.create({ taskId: task.id, body: 'noise' })
      let items = await unread(ben)
      expect(types(items)).toEqual(['summary', 'commented', 'commented', 'commented'])
      expect(items[0]).toMatchObject({ count: 3, data: { folded: 3 } })
      expect(notificationText(items[0]!)).toBe('3 more notifications arrived in a burst')

      await ana.caller.comment.create({ taskId: tasks[5]!.id, body: `@${ben.user.username} this one matters` })
      items = await unread(ben)
      expect(types(items)).toEqual(['mentioned', 'summary', 'commented', 'commented', 'commented'])
      expect((await unread(ben)).length).toBe(5)
      expect((await ben.caller.notification.unreadCount()).count).toBe(5)

      // A minute later the budget is back.
      advance(61_000)
      await ana.caller.task.update({ id: tasks[0]!.id, baseVersion: 1, patch: { status: 'DONE' } })
      expect(types(await unread(ben))[0]).toBe('status_changed')
    })

    it('marks notifications of a user in do-not-disturb silent (no toast, no sound) but still delivers them', async () => {
      const { ana, ben, project } = await team()
      await db.prisma.user.update({ where: { id: ben.user.id }, data: { status: 'DND' } })
      await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      expect(await unread(ben)).toMatchObject([{ type: 'assigned', silent: true }])
      await db.prisma.user.update({ where: { id: ben.user.id }, data: { status: 'AVAILABLE' } })
      await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      expect((await unread(ben))[0]).toMatchObject({ silent: false })
      // Presence may keep the status elsewhere and build the services with its own lookup.
      const { restore: restoreDnd } = installTestServices({ userBus: bus, clock: () => now, dnd: async (_db, ids) => new Set(ids.filter(id => id === ben.user.id)) })
      try {
        await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
        expect((await unread(ben))[0]).toMatchObject({ silent: true })
      }
      finally {
        restoreDnd()
      }
    })

    it('never fails the write when a channel fails, and other channels still deliver', async () => {
      const { ana, ben, project } = await team()
      const calls: string[] = []
      registerChannel({
        name: 'email',
        deliver: async (_db, deliveries) => {
          calls.push(...deliveries.map(d => `${d.recipientId}:${d.type}`))
          throw new Error('SMTP is down')
        },
      })
      try {
        const task = await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
        expect(task.assigneeId).toBe(ben.user.id)
        expect(types(await unread(ben))).toEqual(['assigned'])
        // Assignment is on by default for email: the channel got it (and failed, which was logged).
        expect(calls).toEqual([`${ben.user.id}:assigned`])
      }
      finally {
        unregisterChannel('email')
      }
    })
  })

  describe('procedures', () => {
    it('lists with filters and cursor pages, marks read/unread/all read, archives, and keeps users apart', async () => {
      const { ana, ben, cleo, project } = await team()
      const other = await projectWithTeam(db)
      await other.owner.caller.member.add({ projectId: other.project.id, username: ben.user.username, role: 'MEMBER' })
      for (let i = 0; i < 5; i++) await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: `A${i}` }))
      await other.owner.caller.task.create(taskInput(other.project.id, { assigneeId: ben.user.id, title: 'Other' }))
      await notificationsSettled()

      const first = await ben.caller.notification.list({ unread: true, limit: 4 })
      expect(first.items.map(n => n.data.taskTitle)).toEqual(['Other', 'A4', 'A3', 'A2'])
      const second = await ben.caller.notification.list({ unread: true, limit: 4, cursor: first.nextCursor })
      expect(second.items.map(n => n.data.taskTitle ?? n.type)).toEqual(['A1', 'A0', 'member_added'])
      expect(second.nextCursor).toBeNull()
      expect((await ben.caller.notification.list({ projectId: other.project.id })).items.map(n => n.type)).toEqual(['assigned', 'member_added'])
      expect((await ben.caller.notification.list({ type: 'member_added' })).items).toHaveLength(2)

      expect((await ben.caller.notification.unreadCount()).count).toBe(7)
      const [a4, a3] = first.items.slice(1)
      expect(await ben.caller.notification.markRead({ ids: [a4!.id, a3!.id], read: true })).toMatchObject({ updated: 2, unreadCount: 5 })
      // Someone else's ids change nothing.
      expect(await cleo.caller.notification.markRead({ ids: [a4!.id], read: false })).toMatchObject({ updated: 0 })
      expect((await ben.caller.notification.list({ unread: true })).items.map(n => n.id)).not.toContain(a4!.id)
      await ben.caller.notification.markRead({ ids: [a4!.id], read: false })
      expect((await ben.caller.notification.unreadCount()).count).toBe(6)

      await ben.caller.notification.archive({ ids: [a4!.id] })
      expect((await ben.caller.notification.list({})).items.map(n => n.id)).not.toContain(a4!.id)
      expect((await ben.caller.notification.list({ archived: true })).items.map(n => n.id)).toEqual([a4!.id])
      expect((await ben.caller.notification.unreadCount()).count).toBe(5)

      expect(await ben.caller.notification.markAllRead()).toMatchObject({ updated: 5, unreadCount: 0 })
      expect((await ben.caller.notification.list({ unread: true })).items).toEqual([])
      expect((await failure(ben.caller.notification.markRead({ ids: [] }))).code).toBe('BAD_REQUEST')
    })

    it('markTaskRead reads what concerns one task, and only the caller\'s', async () => {
      const { ana, ben, cleo, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      const other = await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      await cleo.caller.comment.create({ taskId: task.id, body: `@${ben.user.username} see` })
      await cleo.caller.comment.create({ taskId: task.id, body: `@${ana.user.username} see` })
      await notificationsSettled()
      // assigned, mentioned, and the comment on his task that mentions Ana
      expect(await ben.caller.notification.markTaskRead({ taskId: task.id })).toMatchObject({ updated: 3, unreadCount: 1 })
      expect((await unread(ben)).map(n => n.taskId)).toEqual([other.id])
      // Ana's (a comment on her task, a mention) are untouched.
      expect(await unread(ana)).toHaveLength(2)
      expect(await ben.caller.notification.markTaskRead({ taskId: task.id })).toMatchObject({ updated: 0, unreadCount: 1 })
    })

    it('watch / unwatch / watchStatus, and NOT_FOUND for tasks of other teams', async () => {
      const { ana, ben, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id))
      expect(await ben.caller.notification.watchStatus({ taskId: task.id })).toMatchObject({ watching: false, reason: 'none' })
      expect(await ana.caller.notification.watchStatus({ taskId: task.id })).toMatchObject({ watching: true, reason: 'participant' })
      expect(await ben.caller.notification.watch({ taskId: task.id })).toMatchObject({ watching: true, reason: 'watching' })
      expect(await ben.caller.notification.unwatch({ taskId: task.id })).toMatchObject({ watching: false, reason: 'unwatched' })
      const outsider = await signUp(db)
      expect((await failure(outsider.caller.notification.watch({ taskId: task.id }))).code).toBe('NOT_FOUND')
    })

    it('answers a task the caller cannot see alike in every per-task call: NOT_FOUND, whether it exists or not', async () => {
      const { ana, ben, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id }))
      const gone = await ana.caller.task.create(taskInput(project.id))
      await ana.caller.task.delete({ id: gone.id })
      const outsider = await signUp(db)
      const calls = ['markTaskRead', 'watch', 'unwatch', 'watchStatus'] as const
      for (const [caller, taskId] of [[outsider.caller, task.id], [outsider.caller, 'no-such-task'], [ben.caller, gone.id]] as const) {
        const answers = await Promise.all(calls.map(async name => failure(caller.notification[name]({ taskId }))))
        expect(answers.map(a => `${a.code}: ${a.message}`)).toEqual(calls.map(() => `NOT_FOUND: Task ${taskId} not found`))
      }
      // Ben's own notification about the task is untouched by the outsider's attempts.
      expect((await unread(ben)).map(n => n.taskId)).toEqual([task.id])
    })
  })

  describe('notification.onEvent', () => {
    interface Received { id: string, event: NotificationStreamEvent }

    async function subscribe(user: { jar: TestCookieJar }, input: { lastEventId?: string | null }) {
      const controller = new AbortController()
      open.push(controller)
      const ctx = await createContextInner({ db: db.prisma, env: { secureCookies: false }, cookies: user.jar, ip: '10.2.2.2' })
      const iterable = await createCaller(ctx, { signal: controller.signal }).notification.onEvent(input)
      const iterator = iterable[Symbol.asyncIterator]()
      const take = async (n: number) => {
        const out: Received[] = []
        while (out.length < n) {
          const result = await iterator.next()
          if (result.done) throw new Error(`the stream ended after ${out.length} of ${n}`)
          const raw: unknown = result.value
          if (!isTrackedEnvelope<NotificationStreamEvent>(raw)) throw new Error('expected tracked items')
          out.push({ id: raw[0], event: raw[1] })
        }
        return out
      }
      return { take, abort: () => controller.abort() }
    }
    const titles = (items: Received[]) => items.map(r => r.event.kind === 'notification' ? r.event.notification.data.taskTitle : r.event.kind)

    it('streams new notifications live with the badge count, and read-state changes', async () => {
      const { ana, ben, project } = await team()
      const { lastSeq } = await ben.caller.notification.unreadCount()
      const stream = await subscribe(ben, { lastEventId: String(lastSeq) })
      await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'Live one' }))
      const [item] = await stream.take(1)
      expect(item).toMatchObject({ id: String(lastSeq + 1), event: { kind: 'notification', unreadCount: 1, notification: { type: 'assigned', seq: lastSeq + 1 } } })
      const id = (item!.event as { notification: NotificationItem }).notification.id
      await ben.caller.notification.markRead({ ids: [id] })
      expect((await stream.take(1))[0]).toMatchObject({ id: String(lastSeq + 1), event: { kind: 'state', ids: [id], read: true, unreadCount: 0 } })
    })

    it('resumes after a disconnect with exactly what was missed (a merged notification once, as it is now), then live', async () => {
      const { ana, ben, cleo, project } = await team()
      const task = await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'Before' }))
      await notificationsSettled()
      const first = await subscribe(ben, { lastEventId: String((await ben.caller.notification.unreadCount()).lastSeq) })
      await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'Seen' }))
      const [seen] = await first.take(1)
      first.abort()

      // While disconnected: a comment, merged with a second one, and an assignment.
      await cleo.caller.comment.create({ taskId: task.id, body: 'one' })
      await ana.caller.comment.create({ taskId: task.id, body: 'two' })
      await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'Missed' }))
      await notificationsSettled()

      const second = await subscribe(ben, { lastEventId: seen!.id })
      const backfill = await second.take(2)
      expect(titles(backfill)).toEqual(['Before', 'Missed'])
      expect(backfill[0]!.event).toMatchObject({ kind: 'notification', notification: { type: 'commented', count: 2 } })
      expect(Number(backfill[1]!.id)).toBeGreaterThan(Number(backfill[0]!.id))
      await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: 'After' }))
      expect(titles(await second.take(1))).toEqual(['After'])
    })

    it('heals a message the bus lost from the database, in order and without duplicates', async () => {
      const { ana, ben, project } = await team()
      const { lastSeq } = await ben.caller.notification.unreadCount()
      const stream = await subscribe(ben, { lastEventId: String(lastSeq) })
      bus.dropFilter = (_userId, event) => !(event.kind === 'notification' && event.notification.seq === lastSeq + 2)
      for (let i = 0; i < 3; i++) await ana.caller.task.create(taskInput(project.id, { assigneeId: ben.user.id, title: `Gap ${i}` }))
      const items = await stream.take(3)
      expect(items.map(i => i.id)).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3].map(String))
      expect(titles(items)).toEqual(['Gap 0', 'Gap 1', 'Gap 2'])
    })

    it('rejects a lastEventId that is not a seq or is ahead, and needs a session', async () => {
      const ben = await signUp(db)
      expect((await failure(subscribe(ben, { lastEventId: 'x' }))).code).toBe('BAD_REQUEST')
      expect((await failure(subscribe(ben, { lastEventId: '99' }))).code).toBe('BAD_REQUEST')
      expect(bus.listenerCount(ben.user.id)).toBe(0)
      ben.jar.values.clear()
      expect((await failure(subscribe(ben, {}))).code).toBe('UNAUTHORIZED')
    })
  })
})
