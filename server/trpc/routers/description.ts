import { membershipEndingEvents } from '../../../shared/events'
import { descriptionPushInput, descriptionSubscribeInput, type DescriptionMessage } from '../../../shared/schemas/description'
import { fromBase64, parseStateVector, useDescriptionHub } from '../../collab/descriptionHub'
import { useEventBus } from '../../realtime/bus'
import type { Db } from '../../utils/db'
import { protectedProcedure, router } from '../init'

async function* descriptionStream(db: Db, userId: string, taskId: string, stateVector: Uint8Array | undefined, signal: AbortSignal | undefined) {
  const queue: DescriptionMessage[] = []
  let wake: (() => void) | null = null
  let ended = false
  const notify = () => {
    const w = wake
    wake = null
    w?.()
  }
  const stream = await useDescriptionHub().open(db, userId, taskId, stateVector, (message) => {
    queue.push(message)
    notify()
  })
  // Ends when the user leaves the project or the task is deleted.
  const offBus = useEventBus().subscribe(stream.projectId, (event) => {
    const memberGone = (membershipEndingEvents as readonly string[]).includes(event.type) && event.entityId === userId
    if (memberGone || (event.type === 'task.deleted' && event.entityId === taskId)) {
      ended = true
      notify()
    }
  })
  signal?.addEventListener('abort', notify, { once: true })
  try {
    yield stream.first
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
    offBus()
    await stream.close()
  }
}

/** A task's description edited together (Yjs): see docs/websocket.md "Live description". */
export const descriptionRouter = router({
  /**
   * The task's description document: first `sync` (what the client lacks against its state vector,
   * the server's state vector, the other tabs' cursors, whether it may write), then `update` and
   * `awareness` messages from every tab on every instance. Members of the task's project only.
   */
  onDoc: protectedProcedure.input(descriptionSubscribeInput).subscription(async ({ ctx, input, signal }) => {
    // Checked before the stream starts, so a refusal is the subscription's answer.
    await useDescriptionHub().checkRead(ctx.db, ctx.user.id, input.taskId)
    const stateVector = input.stateVector ? parseStateVector(input.stateVector) : undefined
    return descriptionStream(ctx.db, ctx.user.id, input.taskId, stateVector, signal)
  }),

  /** A Yjs update (members; viewers get FORBIDDEN) and/or this tab's awareness; answers once the update is stored. */
  push: protectedProcedure.input(descriptionPushInput).mutation(async ({ ctx, input }) => {
    const hub = useDescriptionHub()
    if (input.update) await hub.applyUpdate(ctx.db, ctx.user.id, input.taskId, fromBase64(input.update))
    if (input.awareness) await hub.awareness(ctx.db, ctx.user.id, input.taskId, fromBase64(input.awareness))
    return { ok: true }
  }),
})
