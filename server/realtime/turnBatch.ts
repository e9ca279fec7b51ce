/**
 * Calls made in the same turn of the event loop (or within `windowMs` of the first), answered together: `run` gets the distinct keys
 * asked for (at most `maxBatch` at a time) and returns the answer of each; every caller of a key
 * gets it. For connection storms, where thousands of sockets ask the database the same kind of
 * question within milliseconds. Nothing is kept after the batch is answered.
 */
export function turnBatcher<K, V>(run: (keys: K[]) => Promise<Map<K, V>>, options: { maxBatch?: number, windowMs?: number, stormWindowMs?: number } = {}) {
  const maxBatch = options.maxBatch ?? 1_000
  let pending: Map<K, { resolve: (value: V | undefined) => void, reject: (error: unknown) => void }[]> | null = null
  const stats = { batches: 0, calls: 0 }
  const window = options.windowMs ? new BatchWindow(options.windowMs, options.stormWindowMs ?? options.windowMs) : null

  async function answer(batch: Map<K, { resolve: (value: V | undefined) => void, reject: (error: unknown) => void }[]>) {
    const keys = [...batch.keys()]
    for (let i = 0; i < keys.length; i += maxBatch) {
      const slice = keys.slice(i, i + maxBatch)
      stats.batches++
      try {
        const values = await run(slice)
        for (const key of slice) for (const waiter of batch.get(key)!) waiter.resolve(values.get(key))
      }
      catch (error) {
        for (const key of slice) for (const waiter of batch.get(key)!) waiter.reject(error)
      }
    }
  }

  function load(key: K): Promise<V | undefined> {
    stats.calls++
    if (!pending) {
      const batch = new Map<K, { resolve: (value: V | undefined) => void, reject: (error: unknown) => void }[]>()
      pending = batch
      const callsBefore = stats.calls - 1
      const flush = () => {
        pending = null
        window?.record(stats.calls - callsBefore)
        void answer(batch)
      }
      if (window) setTimeout(flush, window.ms)
      else setImmediate(flush)
    }
    const batch = pending
    return new Promise((resolve, reject) => {
      const waiters = batch.get(key)
      if (waiters) waiters.push({ resolve, reject })
      else batch.set(key, [{ resolve, reject }])
    })
  }
  return { load, stats }
}

/**
 * How long a batch waits for company: `quietMs` normally; `stormMs` right after a batch that had
 * company (a storm is on: waiting longer gathers far more callers per query, and each waits only
 * once). A lone caller after a storm waits the long window once, then it is short again.
 */
export class BatchWindow {
  private lastCalls = 0
  constructor(readonly quietMs: number, readonly stormMs: number) {}

  get ms(): number {
    return this.lastCalls > 1 ? this.stormMs : this.quietMs
  }

  /** Calls the batch just closed gathered. */
  record(calls: number) {
    this.lastCalls = calls
  }
}
