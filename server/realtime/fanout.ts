import type { WebSocket } from 'ws'
import { membershipEndingEvents, toWireEvent, type ProjectEvent, type ProjectEventWire } from '../../shared/events'
import { useServices } from '../container'
import { logger } from '../utils/logger'
import { deepFreeze, useEventBus, type EventBus } from './bus'
import { eventMetrics } from './eventMetrics'

/**
 * Direct fan-out of project events to sockets, past tRPC's per-subscription loop.
 *
 * A `project.onEvent` subscription on a socket starts like any tRPC subscription (membership check,
 * backfill from the log through the adapter). Once caught up, its generator yields a `DirectSink`;
 * the socket's send gate recognises it (it is never sent) and learns the subscription's id from the
 * adapter's envelope. From then on the sink sits in its project's set, and each event is turned into
 * one frame per distinct subscription id — byte for byte what tRPC would send (see
 * tests/integration/fanout.test.ts) — and written straight to every socket of the set. The
 * generator stays alive as the subscription's supervisor: it heals gaps from the log, ends the
 * stream after the event that removes its user, and detaches the sink when the subscription stops.
 *
 * What this saves per event and subscriber: an async iterator step, two promise races, a superjson
 * pass and a JSON.stringify of the whole event. What it keeps: tRPC's protocol, ids, resume and
 * errors, and the stock `wsLink` client.
 */

/** Socket send buffer limits (bytes queued in `ws` + the kernel). */
export const sendLimits = {
  /** Over this, ephemeral frames (presence, typing) are dropped. */
  softBytes: 1024 * 1024,
  /** Over this, the socket is closed at once. */
  hardBytes: 8 * 1024 * 1024,
  /** A socket that stays over `softBytes` this long is closed. */
  stuckMs: 15_000,
  /**
   * What each write waiting in the socket's queue costs beyond its bytes (the write request and
   * Buffer objects Node keeps for it). Without it a flood of tiny frames (`PONG`: 6 bytes on the wire,
   * hundreds in memory) would take gigabytes to reach `hardBytes`.
   */
  perWriteBytes: 256,
}

interface NodeSocketLike { _socket?: { _writableState?: { bufferedRequestCount?: number } } }

/**
 * Bytes queued for a socket and not yet taken by the network, plus {@link sendLimits}.perWriteBytes
 * for each write waiting in Node's queue (`bufferedRequestCount` of the TCP socket's writable state,
 * read only when something is queued: the usual case costs one property read).
 */
export function queuedCost(socket: WebSocket): number {
  const buffered = socket.bufferedAmount
  if (buffered === 0) return 0
  const writes = (socket as unknown as NodeSocketLike)._socket?._writableState?.bufferedRequestCount ?? 0
  return buffered + writes * sendLimits.perWriteBytes
}

/** Close code for a socket whose reader cannot keep up: reconnect, and resume from the last id. */
export const CLOSE_SLOW_CONSUMER = 4008
const WS_OPEN = 1

/**
 * Everything sent to one socket goes through here: frames from tRPC's adapter and from the direct
 * fan-out alike. It bounds what may pile up for a slow reader.
 */
export class SendGate {
  private overSince = 0
  droppedEphemeral = 0
  closedSlow = false

  constructor(readonly socket: WebSocket, private readonly events: { onDrop?: () => void, onSlow?: () => void } = {}) {}

  /** Sends a text frame; false when it was dropped (socket closing, or ephemeral and over the soft bound). */
  send(frame: string | Buffer, ephemeral = false): boolean {
    const socket = this.socket
    if (socket.readyState !== WS_OPEN || this.closedSlow) return false
    const buffered = queuedCost(socket)
    if (buffered > sendLimits.softBytes) {
      const now = Date.now()
      if (!this.overSince) this.overSince = now
      if (buffered > sendLimits.hardBytes || now - this.overSince > sendLimits.stuckMs) {
        this.closeSlow(buffered)
        return false
      }
      if (ephemeral) {
        this.droppedEphemeral++
        this.events.onDrop?.()
        return false
      }
    }
    else {
      this.overSince = 0
    }
    if (typeof frame === 'string') socket.send(frame)
    else socket.send(frame, { binary: false })
    return true
  }

  private closeSlow(buffered: number) {
    this.closedSlow = true
    this.events.onSlow?.()
    logger.warn('closing a slow WebSocket consumer', { bufferedBytes: buffered })
    this.socket.close(CLOSE_SLOW_CONSUMER, 'Too far behind: reconnect and resume')
    // The close frame waits behind everything queued; a reader that stalled may never take it.
    setTimeout(() => {
      if (this.socket.readyState !== 3) this.socket.terminate()
    }, 2_000).unref()
  }
}

/** What `project.onEvent` sends of each event object (plain JSON, long texts without `from`), built once. */
const wireEvents = new WeakMap<ProjectEvent, ProjectEventWire>()
export function wireEventOf(event: ProjectEvent): ProjectEventWire {
  let wire = wireEvents.get(event)
  if (wire === undefined) {
    wire = deepFreeze(toWireEvent(event))
    wireEvents.set(event, wire)
  }
  return wire
}

/** `data` of a tracked item as tRPC encodes it, once per event object. */
const payloads = new WeakMap<ProjectEvent, string>()
function payloadOf(event: ProjectEvent): string {
  let payload = payloads.get(event)
  if (payload === undefined) {
    payload = JSON.stringify(useServices().serialize({ id: String(event.seq), data: wireEventOf(event) }))
    payloads.set(event, payload)
  }
  return payload
}

/** The frame tRPC's ws adapter sends for `tracked(String(seq), event)` on subscription `prefix`. */
function frameOf(prefix: string, event: ProjectEvent): Buffer {
  return Buffer.from(`${prefix}${payloadOf(event)},"id":"${event.seq}"}}`)
}

export type SinkWake = 'stalled' | 'ended' | null

/**
 * A subscription whose frames leave past tRPC's loop: its generator yields the sink (never sent),
 * the ws encoder binds it to the subscription's id from the adapter's envelope, and the socket's
 * send gate attaches it. `project.onEvent` ({@link DirectSink}) and `presence.onProject`
 * ({@link PresenceSink}) are the two kinds.
 */
export abstract class BoundSink {
  protected gate: SendGate | null = null
  /** `{"id":…,"result":{"type":"data","data":` — what tRPC's adapter writes before a data item. */
  protected prefix = ''

  get attached() {
    return this.gate !== null
  }

  /** Called by the ws encoder, which sees the envelope tRPC's adapter wraps this sink in. */
  bind(id: string | number, jsonrpc: string | undefined) {
    this.prefix = `{"id":${JSON.stringify(id)}${jsonrpc === undefined ? '' : `,"jsonrpc":${JSON.stringify(jsonrpc)}`},"result":{"type":"data","data":`
  }

  /** Called by the socket's send gate when the adapter "sends" this sink. */
  abstract attach(gate: SendGate): void
}

/**
 * One subscription's place in its project's fan-out set. Delivers in seq order without gaps or
 * duplicates; on a gap it stops sending and asks its supervisor to fill in from the log.
 */
export class DirectSink extends BoundSink {
  /** Live events that arrived while stalled, to be sent after the backfill. */
  pending: ProjectEvent[] = []
  stalled = false
  ended = false
  private waiter: ((reason: SinkWake) => void) | null = null
  private wakeReason: SinkWake = null
  private watchingAbort = false

  constructor(
    readonly projectId: string,
    readonly userId: string,
    /** The last seq this subscription has sent. */
    public last: number,
  ) {
    super()
  }

  /** Called by the socket's send gate when the adapter "sends" this sink: from now on events go straight to it. */
  attach(gate: SendGate) {
    if (!this.prefix || this.ended) return
    this.gate = gate
    fanout.add(this)
  }

  detach() {
    if (this.gate) fanout.remove(this)
    this.gate = null
  }

  /** A live event from the bus (`frames`: frames already built for this event, by prefix). */
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

  /** Asks the supervisor to send everything after `last` from the log. */
  requestHeal() {
    if (this.stalled) return
    this.stalled = true
    this.wake('stalled')
  }

  /** Sends the next event in order (from the bus, or from the log during a backfill). */
  write(event: ProjectEvent, frames?: Map<string, Buffer>) {
    if (this.ended || !this.gate) return
    let frame = frames?.get(this.prefix)
    if (!frame) {
      frame = frameOf(this.prefix, event)
      frames?.set(this.prefix, frame)
    }
    this.last = event.seq
    // Refused only when the socket is closing (or was just closed as too slow): stop fanning out to it.
    if (!this.gate.send(frame)) {
      this.detach()
      return
    }
    eventMetrics.framesWritten++
    if ((membershipEndingEvents as readonly string[]).includes(event.type) && event.entityId === this.userId) {
      this.ended = true
      this.detach()
      this.wake('ended')
    }
  }

  private wake(reason: SinkWake) {
    const waiter = this.waiter
    if (waiter) {
      this.waiter = null
      waiter(reason)
    }
    else {
      this.wakeReason = reason
    }
  }

  /** Resolves when the supervisor has work: a gap to fill, the end of the stream, or an abort (null). */
  next(signal: AbortSignal | undefined): Promise<SinkWake> {
    if (this.wakeReason) {
      const reason = this.wakeReason
      this.wakeReason = null
      return Promise.resolve(reason)
    }
    if (signal?.aborted) return Promise.resolve(null)
    if (signal && !this.watchingAbort) {
      this.watchingAbort = true
      signal.addEventListener('abort', () => this.wake(null), { once: true })
    }
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }
}

/** The sinks of each project on this instance, with one bus listener per project. */
class FanoutRegistry {
  private readonly projects = new Map<string, { sinks: Set<DirectSink>, unsubscribe: () => void }>()

  add(sink: DirectSink, bus: EventBus = useEventBus()) {
    let entry = this.projects.get(sink.projectId)
    if (!entry) {
      const sinks = new Set<DirectSink>()
      const unsubscribe = bus.subscribe(sink.projectId, event => this.dispatch(sinks, event))
      entry = { sinks, unsubscribe }
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

  private dispatch(sinks: Set<DirectSink>, event: ProjectEvent) {
    // Most stock clients use the same subscription id, so most sockets get the very same Buffer.
    const frames = new Map<string, Buffer>()
    eventMetrics.fannedOut++
    for (const sink of sinks) {
      try {
        sink.deliver(event, frames)
      }
      catch (error) {
        logger.error('direct fan-out failed for a socket', { projectId: event.projectId, seq: event.seq, message: (error as Error).message })
      }
    }
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

const DIRECT_FANOUT = Symbol('tt.directFanout')

/** Marks a context as served by our socket handler (whose send gate attaches sinks); survives `{ ...ctx }`. */
export function markDirectFanout<T extends object>(ctx: T): T {
  Object.defineProperty(ctx, DIRECT_FANOUT, { value: true, enumerable: true })
  return ctx
}

export function supportsDirectFanout(ctx: object): boolean {
  return (ctx as Record<symbol, unknown>)[DIRECT_FANOUT] === true
}

/** What `superjson` makes of a yielded sink: it leaves class instances alone, so `json` is the sink. */
export function sinkOf(data: unknown): BoundSink | null {
  const json = (data as { json?: unknown } | null)?.json
  return json instanceof BoundSink ? json : null
}

/** Frames of presence messages (one message object goes to every watcher of its project), by prefix. */
const presenceFrames = new WeakMap<object, { payload: string, frames: Map<string, Buffer> }>()

/** Direct presence frames written and dropped (reader behind: presence is ephemeral), for tests and metrics. */
export const presenceFanoutMetrics = { framesWritten: 0, framesDropped: 0 }

/**
 * One `presence.onProject` subscription past tRPC's loop (decision 0005 applied to presence): the
 * project's hub hands it each coalesced patch, the patch is serialized once for all its watchers on
 * this instance and the frame built once per subscription id — what the adapter would send for an
 * untracked item — and written as an ephemeral frame (dropped for a reader far behind, like the
 * adapter's presence frames). Messages that arrive before the sink is attached wait, in order.
 */
export class PresenceSink extends BoundSink {
  private pending: object[] = []
  ended = false

  /** A message for this subscriber: sent now when attached, else kept until {@link attach}. */
  deliver(message: object) {
    if (this.ended) return
    if (!this.gate) {
      this.pending.push(message)
      return
    }
    this.write(message)
  }

  attach(gate: SendGate) {
    if (!this.prefix || this.ended) return
    this.gate = gate
    const pending = this.pending
    this.pending = []
    for (const message of pending) this.write(message)
  }

  detach() {
    this.ended = true
    this.gate = null
    this.pending = []
  }

  /** The messages waiting for {@link attach}, handed back (the sink was never attached). */
  takePending(): object[] {
    const pending = this.pending
    this.pending = []
    return pending
  }

  private write(message: object) {
    const gate = this.gate!
    let cached = presenceFrames.get(message)
    if (!cached) {
      cached = { payload: JSON.stringify(useServices().serialize(message)), frames: new Map() }
      presenceFrames.set(message, cached)
    }
    let frame = cached.frames.get(this.prefix)
    if (!frame) {
      frame = Buffer.from(`${this.prefix}${cached.payload}}}`)
      cached.frames.set(this.prefix, frame)
    }
    if (gate.send(frame, true)) presenceFanoutMetrics.framesWritten++
    else if (gate.socket.readyState !== WS_OPEN || gate.closedSlow) this.detach()
    else presenceFanoutMetrics.framesDropped++
  }
}
