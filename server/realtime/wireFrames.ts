import { EVENT_WIRE_COMPACT, toCompactEvent, toWireEvent, type EventWireVersion, type ProjectEvent, type ProjectEventOnWire } from '../../shared/events'
import { useServices } from '../container'
import { deepFreeze } from './bus'
import { textFrame } from './rawFrames'
import type { SendGate } from './sendGate'

/**
 * Frames of the direct fan-out (decision 0005): each event or presence message is serialized once per
 * wire form, and each frame built once per subscription prefix — byte for byte what tRPC's ws adapter
 * would send (tests/integration/fanout.test.ts).
 */

/** The router's output serializer (the installed services'), so direct frames match the adapter's. */
const serializeOutput = (value: unknown) => useServices().serialize(value)

const namedEvents = new WeakMap<ProjectEvent, ProjectEventOnWire>()
const compactEvents = new WeakMap<ProjectEvent, ProjectEventOnWire>()

/**
 * What `project.onEvent` sends of each event object, built once per form: the named form (plain JSON,
 * long texts without `from`) or, with `wire: 2`, the compact one (shared/events.ts).
 */
export function wireEventOf(event: ProjectEvent, wire?: EventWireVersion | null): ProjectEventOnWire {
  const compact = wire === EVENT_WIRE_COMPACT
  const cache = compact ? compactEvents : namedEvents
  let out = cache.get(event)
  if (out === undefined) {
    out = deepFreeze(compact ? toCompactEvent(event) : toWireEvent(event))
    cache.set(event, out)
  }
  return out
}

/** `data` of a tracked item as tRPC encodes it, once per event object and form. */
const namedPayloads = new WeakMap<ProjectEvent, string>()
const compactPayloads = new WeakMap<ProjectEvent, string>()
function payloadOf(event: ProjectEvent, wire: EventWireVersion | null | undefined): string {
  const cache = wire === EVENT_WIRE_COMPACT ? compactPayloads : namedPayloads
  let payload = cache.get(event)
  if (payload === undefined) {
    payload = JSON.stringify(serializeOutput({ id: String(event.seq), data: wireEventOf(event, wire) }))
    cache.set(event, payload)
  }
  return payload
}

/** The frame (built by `textFrame`) tRPC's ws adapter sends for `tracked(String(seq), wireEvent)` on subscription `prefix`. */
export function eventFrame(prefix: string, event: ProjectEvent, wire: EventWireVersion | null | undefined): Buffer {
  return textFrame(Buffer.from(`${prefix}${payloadOf(event, wire)},"id":"${event.seq}"}}`))
}

/** Frames of presence messages (one message object goes to every watcher of its project), by prefix. */
const presenceFrames = new WeakMap<object, { payload: string, frames: Map<string, Buffer> }>()

/** The frame (built by `textFrame`) tRPC's ws adapter sends for the untracked item `message` on subscription `prefix`. */
export function presenceFrame(prefix: string, message: object): Buffer {
  let cached = presenceFrames.get(message)
  if (!cached) {
    cached = { payload: JSON.stringify(serializeOutput(message)), frames: new Map() }
    presenceFrames.set(message, cached)
  }
  let frame = cached.frames.get(prefix)
  if (!frame) {
    frame = textFrame(Buffer.from(`${prefix}${cached.payload}}}`))
    cached.frames.set(prefix, frame)
  }
  return frame
}

/** `{"id":…` (and `"jsonrpc":…` when the call had it): how tRPC's adapter opens every answer to a call. */
function envelopeHead(key: string, jsonrpc: string | undefined): string {
  return `{"id":${key}${jsonrpc === undefined ? '' : `,"jsonrpc":${JSON.stringify(jsonrpc)}`}`
}

/**
 * A subscription whose frames leave past tRPC's loop: its generator yields the sink (never sent),
 * the ws encoder binds it to the subscription's id from the adapter's envelope, and the socket's
 * send gate attaches it. `project.onEvent` (`DirectSink`) and `presence.onProject`
 * (`PresenceSink`) are the two kinds.
 */
export abstract class BoundSink {
  protected gate: SendGate | null = null
  /** `{"id":…,"result":{"type":"data","data":` — what tRPC's adapter writes before a data item. */
  protected prefix = ''
  /** The subscription's id as JSON: its key among the socket's subscriptions. */
  key = ''
  private jsonrpc: string | undefined

  get attached() {
    return this.gate !== null
  }

  /** Called by the ws encoder, which sees the envelope tRPC's adapter wraps this sink in. */
  bind(id: string | number, jsonrpc: string | undefined) {
    this.key = JSON.stringify(id)
    this.jsonrpc = jsonrpc
    this.prefix = `${envelopeHead(this.key, jsonrpc)},"result":{"type":"data","data":`
  }

  /** What tRPC's adapter sends when this subscription ends: `{"id":…,"result":{"type":"stopped"}}`. */
  stoppedFrame(): string {
    return `${envelopeHead(this.key, this.jsonrpc)},"result":{"type":"stopped"}}`
  }

  /** Called by the socket's send gate when the adapter "sends" this sink. */
  abstract attach(gate: SendGate): void
}

/** What `superjson` makes of a yielded sink: it leaves class instances alone, so `json` is the sink. */
export function sinkOf(data: unknown): BoundSink | null {
  const json = (data as { json?: unknown } | null)?.json
  return json instanceof BoundSink ? json : null
}

const DIRECT_FANOUT = Symbol('tt.directFanout')

/** Marks a context as served by our socket handler (whose send gate attaches sinks); survives `{ ...ctx }`. */
export function markDirectFanout<T extends object>(ctx: T): T {
  Object.defineProperty(ctx, DIRECT_FANOUT, { value: true, enumerable: true })
  return ctx
}

export function supportsDirectFanout(ctx: object): boolean {
  return (ctx as Record<symbol, unknown>)[DIRECT_FANOUT] === true
}
