import superjson from 'superjson'

/**
 * superjson, with the serialized form of an object remembered while the object lives: cached
 * results (task lists) are serialized once, not once per request. Results must not be mutated.
 */
const serialized = new WeakMap<object, ReturnType<typeof superjson.serialize>>()
export const transformer = {
  input: superjson,
  output: {
    serialize: (value: unknown) => {
      if (typeof value !== 'object' || value === null) return superjson.serialize(value)
      let out = serialized.get(value)
      if (!out) {
        out = superjson.serialize(value)
        serialized.set(value, out)
      }
      return out
    },
    deserialize: superjson.deserialize,
  },
}
