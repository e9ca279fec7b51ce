/**
 * The smallest queue that turns bus callbacks into something a generator can await: no per-item
 * promises, one waiter at most. Past `capacity` it drops what it holds and sets `overflowed`
 * instead of growing: the reader then rereads from its durable source (the log, the table).
 */
export class LiveQueue<T> {
  private items: T[] = []
  private wake: (() => void) | null = null
  overflowed = false

  constructor(private readonly capacity: number) {}

  push(item: T) {
    if (this.items.length >= this.capacity) {
      this.items = []
      this.overflowed = true
    }
    else {
      this.items.push(item)
    }
    this.notify()
  }

  /** Wakes the waiting reader (an abort, an overflow, a new item). */
  notify() {
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  /** Whatever is queued, without waiting. */
  drain(): T[] {
    const items = this.items
    this.items = []
    return items
  }

  /** Everything queued so far (empty only when woken by abort or overflow). */
  async take(signal: AbortSignal | undefined): Promise<T[]> {
    if (!this.items.length && !this.overflowed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
    }
    return this.drain()
  }
}
