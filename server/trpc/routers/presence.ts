import { TRPCError } from '@trpc/server'
import { membershipEndingEvents } from '../../../shared/events'
import {
  presenceOnProjectInput,
  presenceSetStatusInput,
  presenceTypingInput,
  presenceUpdateInput,
} from '../../../shared/schemas/presence'
import { usePresenceHub, type PresenceMessage, type PresenceUser } from '../../presence/hub'
import type { PresenceStatus } from '../../presence/store'
import { requirePresenceTask } from '../../presence/taskCheck'
import { useEventBus } from '../../realtime/bus'
import { connectionOf } from '../../realtime/connection'
import { PresenceSink, supportsDirectFanout } from '../../realtime/fanout'
import { requireRole } from '../../services/access'
import type { Db } from '../../utils/db'
import { protectedProcedure, router } from '../init'

const toDb = { available: 'AVAILABLE', away: 'AWAY', dnd: 'DND' } as const
const fromDb = { AVAILABLE: 'available', AWAY: 'away', DND: 'dnd' } as const

function socketConnection(ctx: object): string {
  const connId = connectionOf(ctx)
  if (!connId) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Presence is per connection: call it over the WebSocket (/api/trpc-ws)' })
  return connId
}

async function chosenStatus(db: Db, userId: string): Promise<PresenceStatus> {
  const { status } = await db.user.findUniqueOrThrow({ where: { id: userId }, select: { status: true } })
  return fromDb[status]
}

/**
 * The snapshot, then the project's patches. With `direct` (our socket handler), the snapshot goes
 * through the adapter and then the generator yields a {@link PresenceSink} (never sent: the socket's
 * gate attaches it) and only supervises: every patch is serialized once per project and written to
 * the watchers' sockets past tRPC's loop (decision 0005, docs/websocket.md).
 */
async function* presenceStream(connId: string, projectId: string, user: PresenceUser, signal: AbortSignal | undefined, direct = false) {
  const hub = usePresenceHub()
  let sink = direct ? new PresenceSink() : null
  const queue: PresenceMessage[] = []
  let wake: (() => void) | null = null
  let ended = false
  const notify = () => {
    const w = wake
    wake = null
    w?.()
  }
  const offBus = useEventBus().subscribe(projectId, (event) => {
    if ((membershipEndingEvents as readonly string[]).includes(event.type) && event.entityId === user.id) {
      ended = true
      notify()
    }
  })
  signal?.addEventListener('abort', notify, { once: true })
  const { snapshot, unsubscribe } = await hub.subscribe(projectId, (message) => {
    if (sink) return sink.deliver(message)
    queue.push(message)
    notify()
  })
  try {
    await hub.join(connId, projectId, user)
    yield snapshot
    if (sink) {
      // Patches since the snapshot wait in the sink and leave, in order, when it is attached.
      yield sink as unknown as PresenceMessage
      if (sink.attached) {
        while (!ended && !signal?.aborted && !sink.ended) {
          await new Promise<void>((resolve) => {
            wake = resolve
          })
        }
        return
      }
      // Not attached (the socket is closing): what it holds goes the adapter's way.
      queue.push(...(sink.takePending() as PresenceMessage[]))
      sink = null
    }
    while (!ended && !signal?.aborted) {
      if (!queue.length) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
      }
      while (queue.length && !ended && !signal?.aborted) yield queue.shift()!
    }
  }
  finally {
    sink?.detach()
    offBus()
    unsubscribe()
    await hub.leave(connId, projectId)
  }
}

/** Who is on a project, what they look at, who is typing: see docs/presence.md. */
export const presenceRouter = router({
  /**
   * Joins the project's presence for this connection and streams it: a snapshot of the online
   * members, then coalesced patches. Ends when the connection stops it, closes, or the user leaves
   * the project.
   */
  onProject: protectedProcedure.input(presenceOnProjectInput).subscription(async ({ ctx, input, signal }) => {
    // Checked before the stream starts, so a refusal is the subscription's answer.
    const connId = socketConnection(ctx)
    await requireRole(ctx.db, input.projectId, ctx.user.id)
    const user = { ...ctx.user, status: await chosenStatus(ctx.db, ctx.user.id) }
    return presenceStream(connId, input.projectId, user, signal, supportsDirectFanout(ctx))
  }),

  /** What this connection (tab) shows: the open task, and whether the tab is idle or hidden. */
  update: protectedProcedure.input(presenceUpdateInput).mutation(async ({ ctx, input }) => {
    const { projectId, ...patch } = input
    const connId = socketConnection(ctx)
    const hub = usePresenceHub()
    // Joined first (a member), then the task: a task of another project is NOT_FOUND, as elsewhere.
    hub.assertJoined(connId, projectId)
    if (patch.taskId) await requirePresenceTask(ctx.db, projectId, patch.taskId)
    await hub.update(connId, projectId, patch)
    return { ok: true }
  }),

  /** "Ana is typing…": lasts 5 s unless refreshed (clients send at most one per 2 s). */
  typing: protectedProcedure.input(presenceTypingInput).mutation(async ({ ctx, input }) => {
    const connId = socketConnection(ctx)
    const hub = usePresenceHub()
    hub.assertJoined(connId, input.projectId)
    await requirePresenceTask(ctx.db, input.projectId, input.taskId)
    await hub.typing(connId, input.projectId, input.taskId, input.field)
    return { ok: true }
  }),

  /** The user's chosen status, for all their tabs and projects (kept across sessions). */
  setStatus: protectedProcedure.input(presenceSetStatusInput).mutation(async ({ ctx, input }) => {
    await ctx.db.user.update({ where: { id: ctx.user.id }, data: { status: toDb[input.status] } })
    await usePresenceHub().setStatus(ctx.user.id, input.status)
    return { status: input.status }
  }),

  myStatus: protectedProcedure.query(async ({ ctx }) => ({ status: await chosenStatus(ctx.db, ctx.user.id) })),
})
