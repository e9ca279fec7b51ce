/**
 * Calls made in the same turn of the event loop (or within `windowMs` of the first), answered together: `run` gets the distinct keys
 * asked for (at most `maxBatch` at a time) and returns the answer of each; every caller of a key
 * gets it. For connection storms, where thousands of sockets ask the database the same kind of
 * question within milliseconds. Nothing is kept after the batch is answered.
 */
export function turnBatcher<K, V>(run: (keys: K[]) => Promise<Map<K, V>>, options: { maxBatch?: number, windowMs?: number } = {}) {
  const maxBatch = options.maxBatch ?? 1_000
  let pending: Map<K, { resolve: (value: V | undefined) => void, reject: (error: unknown) => void }[]> | null = null
  const stats = { batches: 0, calls: 0 }

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
      const flush = () => {
        pending = null
        void answer(batch)
      }
      if (options.windowMs) setTimeout(flush, options.windowMs)
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
