// The resumable-stream helper on its own: a fake log and a hand-driven live source, so every loss,
// duplicate, reordering and missed end shows up as a wrong list of seqs.
import { describe, expect, it, vi } from 'vitest'
import type { ProjectEvent } from '../../shared/events'
import { MemoryEventBus } from '../../server/realtime/bus'
import { healFromLog, ResumableStream, type HealingSink, type ResumableSource, type SinkLog } from '../../server/realtime/resumableStream'
import type { Db } from '../../server/utils/db'

interface Item { seq: number | null, end?: boolean }

/** A log of items 1..n (one of them may end the stream), and what the stream asked of it. */
function fakeLog(n: number, endAt?: number) {
  const items: Item[] = Array.from({ length: n }, (_, i) => ({ seq: i + 1, end: i + 1 === endAt }))
  const reads: [number, number | null][] = []
  const source: ResumableSource<Item, string> = {
    seqOf: item => item.seq,
    read: async (after, before, limit) => {
      reads.push([after, before])
      return items.filter(i => i.seq! > after && (before === null || i.seq! < before)).slice(0, limit)
    },
    endsAfter: item => item.end === true,
    emit: (item, last) => item.seq === null ? `state@${last}` : String(item.seq),
  }
  return { items, reads, source, live: (seq: number) => items[seq - 1]! }
}

async function open(source: ResumableSource<Item, string>, start: number, options: { capacity?: number, batch?: number, signal?: AbortSignal } = {}) {
  const unsubscribe = vi.fn()
  const stream = new ResumableStream(source, { capacity: options.capacity ?? 100, batch: options.batch ?? 3 }, options.signal)
  stream.listening(unsubscribe)
  await stream.start(async () => start)
  return { stream, unsubscribe }
}

/** Reads `n` items from a generator (fails rather than waiting forever). */
async function take(iterator: AsyncIterator<string>, n: number): Promise<string[]> {
  const out: string[] = []
  while (out.length < n) {
    const result = await Promise.race([iterator.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`only ${out.length} of ${n} items: ${out.join()}`)), 2_000))])
    if (result.done) throw new Error(`the stream ended after ${out.join()}`)
    out.push(result.value)
  }
  return out
}

describe('ResumableStream', () => {
  it('backfills from the log in batches, then goes on live without duplicates', async () => {
    const log = fakeLog(8)
    const { stream } = await open(log.source, 2, { batch: 3 })
    const backlog: string[] = []
    for await (const item of stream.backfill()) backlog.push(item)
    expect(backlog).toEqual(['3', '4', '5', '6', '7', '8'])
    expect(log.reads).toEqual([[2, null], [5, null], [8, null]])

    const live = stream.live()
    // Seen in the backlog already, then new ones.
    for (const seq of [7, 8]) stream.push(log.live(seq))
    log.items.push({ seq: 9 }, { seq: 10 })
    stream.push(log.live(9))
    stream.push(log.live(9))
    stream.push(log.live(10))
    expect(await take(live, 2)).toEqual(['9', '10'])
    stream.close()
    expect(await live.next()).toEqual({ done: true, value: undefined })
  })

  it('reads a range the live source skipped from the log before the item that skips ahead, and keeps order when items come reordered', async () => {
    const log = fakeLog(10)
    const { stream } = await open(log.source, 2)
    const live = stream.live()
    stream.push(log.live(3))
    stream.push(log.live(6)) // 4 and 5 lost
    stream.push(log.live(8)) // 7 lost
    stream.push(log.live(7)) // … and comes late
    stream.push(log.live(5))
    stream.push(log.live(9))
    expect(await take(live, 7)).toEqual(['3', '4', '5', '6', '7', '8', '9'])
    expect(log.reads).toEqual([[3, 6], [6, 8]])
    stream.close()
  })

  it('rereads everything from the log after the live queue overflowed, losing and repeating nothing', async () => {
    const log = fakeLog(12)
    const { stream } = await open(log.source, 0, { capacity: 4, batch: 5 })
    for (let seq = 1; seq <= 10; seq++) stream.push(log.live(seq)) // overflows before anything is read
    const live = stream.live()
    expect(await take(live, 12)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)))
    stream.push(log.live(12))
    log.items.push({ seq: 13 })
    stream.push(log.live(13))
    expect(await take(live, 1)).toEqual(['13'])
    stream.close()
  })

  it('ends right after the item that ends it, live or from the log', async () => {
    const log = fakeLog(6, 4)
    const { stream } = await open(log.source, 1)
    const live = stream.live()
    stream.push(log.live(2))
    stream.push(log.live(5)) // 3 and 4 from the log; 4 ends the stream, 5 is never sent
    expect(await take(live, 3)).toEqual(['2', '3', '4'])
    expect(await live.next()).toEqual({ done: true, value: undefined })
    expect(stream.ended).toBe(true)

    const resumed = await open(fakeLog(6, 4).source, 0)
    const backlog: string[] = []
    for await (const item of resumed.stream.backfill()) backlog.push(item)
    expect(backlog).toEqual(['1', '2', '3', '4'])
  })

  it('passes items outside the seq as they come, stamped with the newest seq sent', async () => {
    const log = fakeLog(3)
    const { stream } = await open(log.source, 1)
    const live = stream.live()
    stream.push({ seq: null })
    stream.push(log.live(2))
    stream.push({ seq: null })
    expect(await take(live, 3)).toEqual(['state@1', '2', 'state@2'])
    stream.close()
  })

  it('an abort ends a waiting reader and drops the live subscription, even before the first read', async () => {
    const controller = new AbortController()
    const { stream, unsubscribe } = await open(fakeLog(3).source, 0, { signal: controller.signal })
    const live = stream.live()
    const next = live.next()
    controller.abort()
    expect(await next).toEqual({ done: true, value: undefined })
    expect(unsubscribe).toHaveBeenCalledTimes(1)

    const early = new AbortController()
    const second = await open(fakeLog(3).source, 0, { signal: early.signal })
    early.abort() // no generator ever ran: the stream itself listens for the abort
    expect(second.unsubscribe).toHaveBeenCalledTimes(1)
    stream.close()
    expect(unsubscribe).toHaveBeenCalledTimes(1)
  })

  it('a refused start releases everything and rethrows', async () => {
    const controller = new AbortController()
    const unsubscribe = vi.fn()
    const remove = vi.spyOn(controller.signal, 'removeEventListener')
    const stream = new ResumableStream(fakeLog(1).source, { capacity: 10, batch: 10 }, controller.signal).listening(unsubscribe)
    await expect(stream.start(async () => {
      throw new Error('not a member')
    })).rejects.toThrow('not a member')
    expect(unsubscribe).toHaveBeenCalledTimes(1)
    expect(remove).toHaveBeenCalledWith('abort', stream)
  })

  it('hands live delivery to a sink and closes: the queue drains into it, and the sink fills the gaps it finds from the log on its own', async () => {
    const log = fakeLog(5)
    const { stream, unsubscribe } = await open(log.source, 2)
    stream.push(log.live(3))
    stream.push(log.live(5)) // 4 lost before the hand-off
    const sink = new FakeSink(2)
    stream.handOff(sink)
    expect(unsubscribe).toHaveBeenCalledTimes(1)
    // Nothing of the stream is left waiting: it is closed, the sink heals itself.
    expect(stream.done).toBe(true)
    await vi.waitFor(() => expect(sink.sent).toEqual([3, 4, 5]))
    log.items.push({ seq: 6 }, { seq: 7 }, { seq: 8 }, { seq: 9 })
    sink.deliver(log.live(6))
    sink.deliver(log.live(9)) // 7 and 8 lost
    await vi.waitFor(() => expect(sink.sent).toEqual([3, 4, 5, 6, 7, 8, 9]))
    expect(sink.stalled).toBe(false)
  })

  it('a sink handed off after its queue overflowed rereads everything after its last seq', async () => {
    const log = fakeLog(8)
    const { stream } = await open(log.source, 2, { capacity: 2 })
    for (const seq of [3, 4, 5, 6]) stream.push(log.live(seq))
    const sink = new FakeSink(2)
    stream.handOff(sink)
    await vi.waitFor(() => expect(sink.sent).toEqual([3, 4, 5, 6, 7, 8]))
  })
})

/** The sink protocol as the direct fan-out's `DirectSink` follows it, writing seqs to a list. */
class FakeSink implements HealingSink<Item> {
  pending: Item[] = []
  stalled = false
  ended = false
  sent: number[] = []
  private log: SinkLog<Item> | null = null

  constructor(public last: number) {}

  handedOff(log: SinkLog<Item>) {
    this.log = log
    if (this.stalled) void healFromLog(log, this)
  }

  deliver(item: Item) {
    if (this.stalled) return void this.pending.push(item)
    if (item.seq! <= this.last) return
    if (item.seq! > this.last + 1) {
      this.pending.push(item)
      return this.requestHeal()
    }
    this.write(item)
  }

  write(item: Item) {
    this.last = item.seq!
    this.sent.push(item.seq!)
  }

  requestHeal() {
    if (this.stalled) return
    this.stalled = true
    if (this.log) void healFromLog(this.log, this)
  }
}

describe('MembershipWatch', () => {
  const event = (seq: number, type = 'task.updated', entityId = 'task-1') =>
    ({ id: `e${seq}`, projectId: 'p1', seq, type, entityType: 'x', entityId, actorId: null, data: {}, createdAt: new Date(0) }) as unknown as ProjectEvent

  function watched(logged: { seq: number } | null | Error) {
    const findFirst = vi.fn(async () => {
      if (logged instanceof Error) throw logged
      return logged
    })
    const db = { projectEvent: { findFirst } } as unknown as Db
    const bus = new MemoryEventBus()
    const controller = new AbortController()
    const stream = new ResumableStream<Item, string>(fakeLog(0).source, { capacity: 10, batch: 10 }, controller.signal)
    const watch = stream.watchMembership(db, bus, 'p1', 'u1', { type: 'task.deleted', entityId: 'task-1' }).from(5)
    return { stream, watch, bus, findFirst, controller, live: stream.live() }
  }

  it('ends the stream on the bus message that removes the user, or deletes the task', async () => {
    for (const ending of [event(6, 'member.removed', 'u1'), event(6, 'member.left', 'u1'), event(6, 'task.deleted', 'task-1')]) {
      const { bus, live, findFirst } = watched(null)
      const next = live.next()
      bus.publish(event(6, 'member.removed', 'someone-else'))
      bus.publish({ ...ending, seq: 7 })
      expect(await next).toEqual({ done: true, value: undefined })
      expect(findFirst).not.toHaveBeenCalled()
    }
  })

  it('ends the stream when the bus lost the removal: the next event shows a gap and the log has it', async () => {
    const { bus, live, findFirst } = watched({ seq: 6 })
    const next = live.next()
    bus.publish(event(7)) // 6 (the removal) never came
    expect(await next).toEqual({ done: true, value: undefined })
    expect(findFirst).toHaveBeenCalledTimes(1)
    expect(findFirst.mock.calls[0]).toMatchObject([{ where: { projectId: 'p1', seq: { gt: 5 } } }])
  })

  it('goes on when the skipped events removed no one, and asks again after a failed check', async () => {
    const { stream, bus, live, findFirst } = watched(new Error('database away'))
    const next = live.next()
    bus.publish(event(8))
    await vi.waitFor(() => expect(findFirst).toHaveBeenCalledTimes(1))
    bus.publish(event(9)) // no gap, but the failed check is asked again
    await vi.waitFor(() => expect(findFirst).toHaveBeenCalledTimes(2))
    expect(findFirst.mock.calls[1]).toMatchObject([{ where: { seq: { gt: 5 } } }])
    findFirst.mockResolvedValue(null)
    bus.publish(event(11))
    await vi.waitFor(() => expect(findFirst).toHaveBeenCalledTimes(3))
    expect(findFirst.mock.calls[2]).toMatchObject([{ where: { seq: { gt: 5 } } }]) // from the check that failed
    stream.push({ seq: null })
    expect(await next).toEqual({ done: false, value: 'state@0' })
    stream.close()
    expect(await live.next()).toEqual({ done: true, value: undefined })
  })
})
