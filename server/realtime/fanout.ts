import { EVENT_WIRE_COMPACT, membershipEndingEvents, type EventWireVersion, type ProjectEvent } from '../../shared/events'
import { logger } from '../utils/logger'
import { useEventBus, type EventBus } from './bus'
import { eventMetrics } from './eventMetrics'
import { BoundSink, eventFrame } from './wireFrames'
import { healFromLog, type HealingSink, type SinkLog } from './resumableStream'
import type { OwnedSubscription, SendGate } from './sendGate'

// The pieces of the direct fan-out, for the modules that import them from here.
export { CLOSE_SLOW_CONSUMER, queuedCost, SendGate, sendLimits } from './sendGate'
export { BoundSink, markDirectFanout, sinkOf, supportsDirectFanout, wireEventOf } from './wireFrames'
export { PresenceSink, presenceFanoutMetrics } from './presenceSink'

/**
 * Direct fan-out of project events to sockets, past tRPC's per-subscription loop.
 *
 * A `project.onEvent` subscription on a socket starts like any tRPC subscription (membership check,
 * backfill from the log through the adapter). Once caught up, its generator yields a `DirectSink`;
 * the socket's send gate recognises it (it is never sent) and learns the subscription's id from the
 * adapter's envelope. From then on the sink sits in its project's set, and each event is turned into
 * one frame per distinct subscription id — byte for byte what tRPC would send (see
 * tests/integration/fanout.test.ts) — and written straight to every socket of the set. The
 * generator then ends (tRPC's `stopped` for it is not sent) and the socket's gate owns the
 * subscription: the sink heals its gaps from the log itself, ends after the event that removes its
 * user (sending `stopped` as the adapter would), and leaves on `subscription.stop` or when the
 * socket closes. Nothing else stays alive per subscription (decision 0022).
 *
 * What this saves per event and subscriber: an async iterator step, two promise races, a superjson
 * pass and a JSON.stringify of the whole event. What it keeps: tRPC's protocol, ids, resume and
 * errors, and the stock `wsLink` client.
 */

/**
 * One subscription's place in its project's fan-out set. Delivers in seq order without gaps or
 * duplicates; on a gap it stops sending and fills in from the log. Until the hand-off its generator
 * (tRPC's loop) still owns the subscription; from then on the socket's gate does: it answers
 * `subscription.stop` and detaches the sink when the socket closes (decision 0022).
 */
export class DirectSink extends BoundSink implements HealingSink<ProjectEvent>, OwnedSubscription {
  /** Live events that arrived while stalled, to be sent after the backfill. */
  pending: ProjectEvent[] = []
  stalled = false
  ended = false
  /** Where missed events are read, once handed off (before that, its generator fills the gaps). */
  private log: SinkLog<ProjectEvent> | null = null

  constructor(
    readonly projectId: string,
    readonly userId: string,
    /** The last seq this subscription has sent. */
    public last: number,
    /** The wire form its subscriber asked for (`project.onEvent`'s `wire`). */
    readonly wire: EventWireVersion | null = null,
  ) {
    super()
  }

  /** Key of this sink's frame among those built for one event: its prefix, and its wire form. */
  private get frameKey() {
    return this.wire === EVENT_WIRE_COMPACT ? `2${this.prefix}` : this.prefix
  }

  /** Called by the socket's send gate when the adapter "sends" this sink: from now on events go straight to it. */
  attach(gate: SendGate) {
    if (!this.prefix || this.ended) return
    this.gate = gate
    fanout.add(this)
  }

  /** Its generator ends: the socket's gate answers for the subscription, the sink heals itself. */
  handedOff(log: SinkLog<ProjectEvent>) {
    this.log = log
    this.gate?.own(this)
    if (this.stalled) this.heal()
  }

  /** Leaves the fan-out for good (stopped, socket closed, ended). */
  detach() {
    this.ended = true
    this.pending = []
    if (this.gate) {
      fanout.remove(this)
      this.gate.disown(this)
    }
    this.gate = null
  }

  /** A live event from the bus (`frames`: frames already built for this event, by prefix and form). */
  deliver(event: ProjectEvent, frames?: Map<string, Buffer>) {
    if (this.ended || !this.gate) return
    if (this.stalled) {
      this.pending.push(event)
      if (this.pending.length > 5_000) this.pending = [] // the log has them all
      return
    }
    if (event.seq <= this.last) return
    if (event.seq > this.last + 1) {
      this.pending.push(event)
      this.requestHeal()
      return
    }
    this.write(event, frames)
  }

  /** Stops sending until everything after `last` has been sent from the log. */
  requestHeal() {
    if (this.stalled) return
    this.stalled = true
    if (this.log) this.heal()
  }

  private heal() {
    healFromLog(this.log!, this).catch((error: unknown) => {
      // The log could not be read (database down): the client reconnects and resumes from its last id.
      logger.error('direct fan-out could not fill a gap from the log', { projectId: this.projectId, after: this.last, message: (error as Error).message })
      const socket = this.gate?.socket
      this.detach()
      socket?.close(CLOSE_TRY_AGAIN, 'Missed events could not be read: reconnect and resume')
    })
  }

  /** Sends the next event in order (from the bus, or from the log during a backfill). */
  write(event: ProjectEvent, frames?: Map<string, Buffer>) {
    const gate = this.gate
    if (this.ended || !gate) return
    const key = this.frameKey
    let frame = frames?.get(key)
    if (!frame) {
      frame = eventFrame(this.prefix, event, this.wire)
      frames?.set(key, frame)
    }
    this.last = event.seq
    // Refused only when the socket is closing (or was just closed as too slow): stop fanning out to it.
    if (!gate.sendFrame(frame)) {
      this.detach()
      return
    }
    eventMetrics.framesWritten++
    if ((membershipEndingEvents as readonly string[]).includes(event.type) && event.entityId === this.userId) {
      // Handed off, the subscription is the gate's to end; before that its generator ends it.
      const owned = gate.subscription(this.key) === this
      this.detach()
      if (owned) gate.send(this.stoppedFrame())
    }
  }
}

/** Times a fan-out yielded to the event loop between chunks (tests, metrics). */
export const fanoutMetrics = { yields: 0 }

/** Close code when missed events could not be read from the log: the client reconnects and resumes. */
export const CLOSE_TRY_AGAIN = 1013

/**
 * Sockets written per turn of the event loop. Past it the fan-out of an event goes on in the next
 * turn (`setImmediate`), so that the I/O waiting meanwhile — the next write's database round trips,
 * other requests, keep-alive answers — runs between chunks instead of behind thousands of socket
 * writes. Events of a project still go out one after the other, each to every socket, in seq order.
 */
export const fanoutLimits = { chunk: 500 }

/** A project's sinks on this instance, its bus listener, and the events waiting for their turn. */
interface ProjectSet {
  sinks: Set<DirectSink>
  unsubscribe: () => void
  queue: ProjectEvent[]
  draining: boolean
}

function deliverTo(sink: DirectSink, event: ProjectEvent, frames: Map<string, Buffer>) {
  try {
    sink.deliver(event, frames)
  }
  catch (error) {
    logger.error('direct fan-out failed for a socket', { projectId: event.projectId, seq: event.seq, message: (error as Error).message })
  }
}

/** The sinks of each project on this instance, with one bus listener per project. */
class FanoutRegistry {
  private readonly projects = new Map<string, ProjectSet>()

  add(sink: DirectSink, bus: EventBus = useEventBus()) {
    let entry = this.projects.get(sink.projectId)
    if (!entry) {
      const set: ProjectSet = { sinks: new Set(), unsubscribe: () => {}, queue: [], draining: false }
      set.unsubscribe = bus.subscribe(sink.projectId, event => this.dispatch(set, event))
      entry = set
      this.projects.set(sink.projectId, entry)
    }
    entry.sinks.add(sink)
  }

  remove(sink: DirectSink) {
    const entry = this.projects.get(sink.projectId)
    if (!entry) return
    entry.sinks.delete(sink)
    if (entry.sinks.size === 0) {
      entry.unsubscribe()
      this.projects.delete(sink.projectId)
    }
  }

  private dispatch(entry: ProjectSet, event: ProjectEvent) {
    entry.queue.push(event)
    if (!entry.draining) this.drain(entry)
  }

  /**
   * Sends the project's queued events, each to every sink, in {@link fanoutLimits}.chunk sockets per
   * turn. Most stock clients use the same subscription id, so most sockets get the very same Buffer.
   * A sink added meanwhile is visited too (the Set's iterator is live; it drops what it has), a
   * removed one is skipped.
   */
  private drain(entry: ProjectSet) {
    entry.draining = true
    let event: ProjectEvent | undefined
    let frames = new Map<string, Buffer>()
    let sinks: Iterator<DirectSink> | null = null
    const step = () => {
      let budget = fanoutLimits.chunk
      for (;;) {
        if (!sinks) {
          event = entry.queue.shift()
          if (!event) {
            entry.draining = false
            return
          }
          eventMetrics.fannedOut++
          frames = new Map()
          sinks = entry.sinks.values()
        }
        for (let next = sinks.next(); !next.done; next = sinks.next()) {
          deliverTo(next.value, event!, frames)
          if (--budget === 0) {
            fanoutMetrics.yields++
            setImmediate(step)
            return
          }
        }
        sinks = null
      }
    }
    step()
  }

  /** Sockets of a project on this instance (tests, metrics). */
  size(projectId: string): number {
    return this.projects.get(projectId)?.sinks.size ?? 0
  }

  /** Caught-up `project.onEvent` subscriptions and the projects they watch, on this instance (metrics; walks the projects). */
  totals(): { projects: number, sinks: number } {
    let sinks = 0
    for (const entry of this.projects.values()) sinks += entry.sinks.size
    return { projects: this.projects.size, sinks }
  }
}

export const fanout = new FanoutRegistry()
