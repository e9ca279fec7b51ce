import type { Db } from '../utils/db'
import type { EventBus } from './bus'
import { LiveQueue } from './liveQueue'
import { MembershipWatch } from './membershipWatch'

export { endsMembership, MembershipWatch } from './membershipWatch'

/**
 * The one way a subscription is streamed (project events, notifications, presence, a description
 * document): subscribe to the live source first, then read where to start, then backfill from the
 * log, then go on live — items seen twice dropped by seq, a skipped range read from the log before
 * the item that skips ahead (the bus may lose messages, the log never does), the end after the item
 * that removes the subscriber, or when the subscription is aborted. See docs/websocket.md.
 */

/** Where a stream's items come from besides the live source: the durable log, numbered by the same seq. */
export interface ResumableSource<T, Out> {
  /** The item's place in the log; null for an item outside it (passed on as it comes, never deduplicated). */
  seqOf: (item: T) => number | null
  /** Items with `after` < seq < `before` (null: up to the newest), oldest first, at most `limit`. */
  read: (after: number, before: number | null, limit: number) => Promise<T[]>
  /** The stream ends right after this item (the one that removes the subscriber). */
  endsAfter: (item: T) => boolean
  /** What is yielded for an item; `last` is the seq of the newest item passed on so far. */
  emit: (item: T, last: number) => Out
}

const passThrough: ResumableSource<unknown, unknown> = {
  seqOf: () => null,
  read: async () => [],
  endsAfter: () => false,
  emit: item => item,
}

/** A source without a log (presence, a description document): items pass as they come, nothing to reread. */
export function noLog<T>(): ResumableSource<T, T> {
  return passThrough as unknown as ResumableSource<T, T>
}

export interface ResumableLimits {
  /** live items held for a slow reader; past this they are dropped and reread from the log */
  capacity: number
  /** log rows read at a time */
  batch: number
}

/**
 * A sink fed by the bus itself past the generator (the direct fan-out, server/realtime/fanout.ts):
 * it sends what comes in order and, on a gap, stalls and fills in from the log ({@link healFromLog})
 * on its own once it has been handed off: no generator stays behind to supervise it.
 */
export interface HealingSink<T> {
  last: number
  /** live items that arrived while stalled */
  pending: T[]
  stalled: boolean
  /** ended (its last item sent) or detached: nothing more goes to it */
  readonly ended: boolean
  deliver: (item: T) => void
  write: (item: T) => void
  requestHeal: () => void
  /** Called once by {@link ResumableStream.handOff}: from now on the sink fills its gaps from `log`. */
  handedOff: (log: SinkLog<T>) => void
}

/** Where a handed-off sink reads what it missed. */
export interface SinkLog<T> {
  readonly source: ResumableSource<T, unknown>
  readonly batch: number
}

/**
 * Sends the log after the sink's last seq, then what arrived meanwhile, until nothing is missing;
 * leaves the sink unstalled (or ended). Read errors are the caller's.
 */
export async function healFromLog<T>(log: SinkLog<T>, sink: HealingSink<T>): Promise<void> {
  const { source, batch } = log
  for (;;) {
    for (;;) {
      const items = await source.read(sink.last, null, batch)
      for (const item of items) {
        if (sink.ended) return
        sink.write(item)
      }
      if (items.length < batch) break
    }
    const pending = sink.pending.sort((a, b) => source.seqOf(a)! - source.seqOf(b)!)
    sink.pending = []
    let gap = false
    for (const item of pending) {
      const seq = source.seqOf(item)!
      if (seq <= sink.last) continue
      if (seq > sink.last + 1) {
        gap = true
        break
      }
      sink.write(item)
    }
    if (!gap || sink.ended) {
      sink.stalled = false
      return
    }
  }
}

/**
 * One subscription's stream state: a {@link LiveQueue} fed by the live source, the last seq passed
 * on, and whether it has ended. It is its own abort listener (no closure per stream): an abort drops
 * the live subscription and wakes the reader — also for a generator aborted before its first read,
 * whose `finally` never runs.
 */
export class ResumableStream<T, Out = T> {
  /** The seq of the newest item passed on (or where the stream starts). */
  last = 0
  /** The item that ends the stream was passed on (or the membership watch saw the end). */
  ended = false
  private readonly queue: LiveQueue<T>
  private unsubscribe: (() => void) | null = null
  private watch: MembershipWatch | null = null
  private closed = false

  constructor(
    private readonly source: ResumableSource<T, Out>,
    private readonly limits: ResumableLimits,
    readonly signal: AbortSignal | undefined,
  ) {
    this.queue = new LiveQueue(limits.capacity)
    signal?.addEventListener('abort', this, { once: true })
  }

  /** For the live source's listener. */
  push(item: T) {
    this.queue.push(item)
  }

  /** Keeps the live source's unsubscribe, called when the stream closes, aborts or hands off. */
  listening(unsubscribe: () => void): this {
    this.unsubscribe = unsubscribe
    return this
  }

  /**
   * Ends the stream when `userId` leaves the project (or `alsoEnds` holds for an event), for a stream
   * that does not carry project events itself: see {@link MembershipWatch}. Subscribed to the bus now.
   */
  watchMembership(db: Db, bus: EventBus, projectId: string, userId: string, alsoEnds?: { type: string, entityId: string }): MembershipWatch {
    this.watch = new MembershipWatch(db, projectId, userId, this.queue, alsoEnds)
    this.watch.listen(bus)
    return this.watch
  }

  /**
   * Where the stream starts: called after subscribing, so nothing committed in between is missed.
   * When `read` throws (not a member, a bad resume id) everything is released and the error
   * rethrown, so the refusal is the subscription's answer.
   */
  async start(read: () => Promise<number>): Promise<this> {
    try {
      this.last = await read()
    }
    catch (error) {
      this.close()
      throw error
    }
    return this
  }

  /** The abort listener. */
  handleEvent() {
    this.stopLive()
  }

  get done(): boolean {
    return this.ended || this.closed || !!this.signal?.aborted || !!this.watch?.ended
  }

  private stopLive() {
    this.unsubscribe?.()
    this.unsubscribe = null
    this.watch?.close()
    this.queue.notify()
  }

  /** Releases the live subscription, the membership watch and the abort listener (idempotent). */
  close() {
    this.closed = true
    this.signal?.removeEventListener('abort', this)
    this.stopLive()
  }

  private pass(item: T): Out {
    const seq = this.source.seqOf(item)
    if (seq !== null) this.last = seq
    if (this.source.endsAfter(item)) this.ended = true
    return this.source.emit(item, this.last)
  }

  /** The log after `last` and before `before` (null: up to the newest), until it ends or is aborted. */
  async* backfill(before: number | null = null): AsyncGenerator<Out, void, unknown> {
    const { batch } = this.limits
    for (;;) {
      const items = await this.source.read(this.last, before, batch)
      for (const item of items) {
        if (this.done) return
        yield this.pass(item)
        if (this.ended) return
      }
      if (items.length < batch) return
    }
  }

  /**
   * Live items until the stream ends or is aborted: in seq order without duplicates (a skipped range
   * read from the log first; after an overflow, everything new from the log); items outside the seq
   * as they come.
   */
  async* live(): AsyncGenerator<Out, void, unknown> {
    while (!this.done) {
      if (this.watch?.unsure) {
        await this.watch.heal()
        continue
      }
      const items = await this.queue.take(this.signal)
      if (this.queue.overflowed) {
        this.queue.overflowed = false
        yield* this.backfill(null)
        continue
      }
      for (const item of items) {
        if (this.done) break
        const seq = this.source.seqOf(item)
        if (seq !== null) {
          if (seq <= this.last) continue
          if (seq > this.last + 1) yield* this.backfill(seq)
          if (this.done) break
        }
        yield this.pass(item)
      }
    }
  }

  /**
   * Waits, without yielding, until the stream ends, is aborted, or `sink` ends (its items go another
   * way: a presence sink), healing the membership watch's gaps meanwhile.
   */
  async supervise(sink: { readonly ended: boolean }): Promise<void> {
    while (!this.done && !sink.ended) {
      if (this.watch?.unsure) await this.watch.heal()
      else await this.queue.take(this.signal)
    }
  }

  /**
   * Hands live delivery to `sink`, which the bus feeds from now on: the queue's subscription is
   * dropped, what the queue holds goes to the sink, and the stream closes. The sink fills its own
   * gaps from the log from then on (a queue that overflowed is one), so nothing of this stream — no
   * generator, no queue — stays alive per subscription.
   */
  handOff(sink: HealingSink<T>): void {
    const overflowed = this.queue.overflowed
    const items = this.queue.drain()
    this.close()
    sink.handedOff({ source: this.source, batch: this.limits.batch })
    if (overflowed) sink.requestHeal()
    for (const item of items) sink.deliver(item)
  }
}
