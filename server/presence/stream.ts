import { useEventBus, type EventBus } from '../realtime/bus'
import { PresenceSink } from '../realtime/fanout'
import { noLog, ResumableStream } from '../realtime/resumableStream'
import { readStreamStart } from '../realtime/streamStart'
import type { Db } from '../utils/db'
import { usePresenceHub, type PresenceHub, type PresenceMessage, type PresenceUser } from './hub'

/** Presence messages are few and coalesced (one per project per `flushMs`): never dropped for a slow reader. */
const LIMITS = { capacity: Number.POSITIVE_INFINITY, batch: 0 }

export interface PresenceStreamOptions {
  /** Hand the patches to the direct fan-out (a {@link PresenceSink}): only on our socket handler. */
  direct?: boolean
  hub?: PresenceHub
  bus?: EventBus
}

/**
 * Joins `connId` to the project's presence and streams it: the snapshot, then the project's patches.
 * Membership is checked before the stream starts (NOT_FOUND is the subscription's answer), after
 * subscribing to the project's event bus, so a removal committed meanwhile is not missed. The stream
 * ends when aborted, or when the user leaves the project — seen on the bus, or, when the bus lost that
 * message, in the log at the next event that shows a gap (see `MembershipWatch`).
 *
 * With `direct` (our socket handler), the snapshot goes through the adapter and then the generator
 * yields a {@link PresenceSink} (never sent: the socket's gate attaches it) and only supervises:
 * every patch is serialized once per project and written to the watchers' sockets past tRPC's loop
 * (decision 0005, docs/websocket.md).
 */
export async function openPresenceStream(
  db: Db,
  connId: string,
  projectId: string,
  user: PresenceUser,
  signal: AbortSignal | undefined,
  options: PresenceStreamOptions = {},
): Promise<AsyncGenerator<PresenceMessage, void, unknown>> {
  const stream = new ResumableStream(noLog<PresenceMessage>(), LIMITS, signal)
  const watch = stream.watchMembership(db, options.bus ?? useEventBus(), projectId, user.id)
  await stream.start(async () => {
    watch.from((await readStreamStart(db, projectId, user.id)).eventSeq)
    return 0
  })
  return presence(stream, options.hub ?? usePresenceHub(), connId, projectId, user, options.direct === true)
}

async function* presence(stream: ResumableStream<PresenceMessage>, hub: PresenceHub, connId: string, projectId: string, user: PresenceUser, direct: boolean) {
  let sink = direct ? new PresenceSink() : null
  let unsubscribe = () => {}
  try {
    const subscribed = await hub.subscribe(projectId, (message) => {
      if (sink) sink.deliver(message)
      else stream.push(message)
    })
    unsubscribe = subscribed.unsubscribe
    await hub.join(connId, projectId, user)
    yield subscribed.snapshot
    if (sink) {
      // Patches since the snapshot wait in the sink and leave, in order, when it is attached.
      yield sink as unknown as PresenceMessage
      if (sink.attached) {
        await stream.supervise(sink)
        return
      }
      // Not attached (the socket is closing): what it holds goes the adapter's way.
      for (const message of sink.takePending()) stream.push(message as PresenceMessage)
      sink = null
    }
    yield* stream.live()
  }
  finally {
    sink?.detach()
    stream.close()
    unsubscribe()
    await hub.leave(connId, projectId)
  }
}
