// A small zod 4 → fast-check walker for the fuzz test (tests/integration/fuzz.test.ts): valid inputs
// built from a schema's definition (`_zod.def`, lengths and patterns from `_zod.bag`), and hostile
// variants of them (strings with NUL and lone surrogates, numbers beyond int4, dates PostgreSQL
// cannot store, missing and unknown fields, wrong types).
import fc from 'fast-check'
import type { z } from 'zod'

type Schema = z.core.$ZodType
type Arb = fc.Arbitrary<unknown>

export interface WalkOptions {
  /** Real values for a field (ids of the fixture, usernames…), so that calls get past "not found". */
  known?: (key: string, type: 'string' | 'number') => fc.Arbitrary<unknown> | undefined
  /** Mix hostile values into every leaf, and drop / add object keys. */
  hostile: boolean
}

/** One UTF-16 unit or code point: anything a JS string can hold, lone surrogates and NUL included. */
const anyChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xD800, max: 0xDFFF }).map(c => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constant('\u0000') },
)

const hostileStrings = [
  '\u0000', 'a\u0000b', '\uD800', '\uDFFF', 'x\uDC00y', '\uDBFF\uDBFF', '\uD83D', // NUL, lone surrogates
  '\\', 'a\\', '\\\\%_', '%', '_', '%_%', // LIKE metacharacters
  'WEB-99999999999', '99999999999', '2147483648', '-2147483649', '9007199254740993', '1e400', 'WEB-1e3', 'NaN', '-1', '0',
  ' ', '', '\u00A0', '\u202E', '😀', '\uFEFF', '\'; --', '${x}', 'x'.repeat(300),
]

function hostileString(valid: Arb): Arb {
  const injected = fc.tuple(valid, fc.nat(), fc.constantFrom('\u0000', '\uD800', '\uDC00', '\\', '%'))
    .map(([v, at, c]) => {
      if (typeof v !== 'string') return c
      const i = at % (v.length + 1)
      return v.slice(0, i) + c + v.slice(i)
    })
  return fc.oneof(fc.constantFrom(...hostileStrings), injected, fc.string({ unit: anyChar, maxLength: 24 }))
}

const hostileNumbers = [
  2147483647, 2147483648, -2147483648, -2147483649, 4294967296, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
  1e21, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, Number.NaN, -0, 0, 0.5, -1, 1.0000001,
]
const hostileNumber = fc.oneof(fc.constantFrom(...hostileNumbers), fc.double(), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }))

const utcYear = (year: number) => {
  const d = new Date(0)
  d.setUTCFullYear(year, 0, 1)
  return d
}
const hostileDates: unknown[] = [
  new Date(8.64e15), new Date(-8.64e15), new Date(Number.NaN), utcYear(-5000), utcYear(-4713), utcYear(0), utcYear(10000),
  utcYear(275000), utcYear(294277), '+275760-09-13T00:00:00.000Z', '-005000-01-01T00:00:00Z', '300000-01-01', 'not a date', '',
  8.64e15, -8.64e15, 1e20, true,
]
const hostileDate = fc.oneof(fc.constantFrom(...hostileDates), fc.date({ noInvalidDate: false }))

const wrongType = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, true, 0, '', [], {}, 1n, ['x'], { a: 1 }),
  fc.anything({ maxDepth: 1 }),
)

const defOf = (schema: Schema) => schema._zod.def as unknown as Record<string, unknown> & { type: string }
const bagOf = (schema: Schema) => schema._zod.bag as Record<string, unknown>

function stringArbitrary(schema: Schema): Arb {
  const bag = bagOf(schema)
  const minLength = typeof bag.minimum === 'number' ? bag.minimum : 0
  const maxLength = Math.min(typeof bag.maximum === 'number' ? bag.maximum : 40, 40)
  if (bag.format === 'email') return fc.emailAddress()
  const patterns = bag.patterns instanceof Set ? [...bag.patterns] as RegExp[] : []
  if (patterns.length) return fc.stringMatching(patterns[0]!).filter(s => s.length >= minLength && s.length <= Math.max(maxLength, minLength))
  return fc.string({ minLength, maxLength: Math.max(maxLength, minLength), unit: 'grapheme' })
}

function numberArbitrary(schema: Schema): Arb {
  const bag = bagOf(schema)
  const min = typeof bag.minimum === 'number' ? Math.max(bag.minimum, -1e6) : -1e6
  const max = typeof bag.maximum === 'number' ? Math.min(bag.maximum, 1e6) : 1e6
  if (bag.format === 'safeint' || bag.format === 'int32') return fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
  return fc.double({ min, max, noNaN: true })
}

/** With `hostile`, a leaf is mostly valid (so calls reach the database) and sometimes hostile. */
function leaf(valid: Arb, bad: Arb, opts: WalkOptions): Arb {
  if (!opts.hostile) return valid
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: bad }, { weight: 1, arbitrary: wrongType })
}

/** Valid-looking values for `schema` (hostile ones mixed in with `opts.hostile`); `key` is the field's name. */
export function arbitraryFor(schema: Schema, opts: WalkOptions, key = ''): Arb {
  const def = defOf(schema)
  switch (def.type) {
    case 'string': {
      const known = key ? opts.known?.(key, 'string') : undefined
      const base = known ? fc.oneof({ weight: 4, arbitrary: known }, { weight: 1, arbitrary: stringArbitrary(schema) }) : stringArbitrary(schema)
      return leaf(base, hostileString(base), opts)
    }
    case 'number': {
      const known = key ? opts.known?.(key, 'number') : undefined
      const base = known ? fc.oneof({ weight: 3, arbitrary: known }, { weight: 1, arbitrary: numberArbitrary(schema) }) : numberArbitrary(schema)
      return leaf(base, hostileNumber, opts)
    }
    case 'bigint':
      return leaf(fc.bigInt(), wrongType, opts)
    case 'boolean':
      return leaf(fc.boolean(), wrongType, opts)
    case 'date':
      return leaf(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), hostileDate, opts)
    case 'enum': {
      const values = Object.values(def.entries as Record<string, string>)
      return leaf(fc.constantFrom(...values), fc.oneof(hostileString(fc.constantFrom(...values)), fc.constant(values[0]!.toLowerCase())), opts)
    }
    case 'literal':
      return leaf(fc.constantFrom(...(def.values as unknown[])), wrongType, opts)
    case 'null':
      return fc.constant(null)
    case 'undefined':
    case 'void':
      return fc.constant(undefined)
    case 'optional':
      return fc.option(arbitraryFor(def.innerType as Schema, opts, key), { nil: undefined, freq: 4 })
    case 'nullable':
      return fc.option(arbitraryFor(def.innerType as Schema, opts, key), { nil: null, freq: 4 })
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return fc.option(arbitraryFor(def.innerType as Schema, opts, key), { nil: undefined, freq: 3 })
    case 'pipe':
      // The input side decides what may be sent (a transform's output is never sent).
      return defOf(def.in as Schema).type === 'transform' ? arbitraryFor(def.out as Schema, opts, key) : arbitraryFor(def.in as Schema, opts, key)
    case 'union':
      return fc.oneof(...(def.options as Schema[]).map(o => arbitraryFor(o, opts, key)))
    case 'array': {
      const bag = bagOf(schema)
      const minLength = typeof bag.minimum === 'number' ? bag.minimum : 0
      const maxLength = Math.min(typeof bag.maximum === 'number' ? bag.maximum : 5, 5)
      const base = fc.array(arbitraryFor(def.element as Schema, opts, key), { minLength, maxLength: Math.max(minLength, maxLength) })
      if (!opts.hostile) return base
      return fc.oneof({ weight: 6, arbitrary: base }, { weight: 1, arbitrary: wrongType }, { weight: 1, arbitrary: fc.array(wrongType, { maxLength: 3 }) })
    }
    case 'object': {
      const shape = def.shape as Record<string, Schema>
      const base = fc.record(Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, arbitraryFor(s, opts, k)])))
        .map(o => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)))
      if (!opts.hostile) return base
      const keys = Object.keys(shape)
      const tweaked = fc.tuple(base, fc.option(fc.constantFrom(...(keys.length ? keys : ['x']))), fc.option(fc.tuple(fc.string({ maxLength: 8 }), wrongType)))
        .map(([o, drop, extra]) => {
          const copy = Object.fromEntries(Object.entries(o).filter(([k]) => k !== drop))
          if (extra) copy[extra[0]] = extra[1]
          return copy
        })
      return fc.oneof({ weight: 6, arbitrary: base }, { weight: 3, arbitrary: tweaked }, { weight: 1, arbitrary: wrongType })
    }
    case 'record':
      return fc.dictionary(fc.string({ maxLength: 8 }), arbitraryFor(def.valueType as Schema, opts), { maxKeys: 3 })
    default:
      // any / unknown / custom: whatever a client could send
      return fc.anything({ maxDepth: 2 })
  }
}
