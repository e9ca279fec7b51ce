// A small zod 4 → fast-check walker for the fuzz test (tests/integration/fuzz.test.ts): valid inputs
// built from a schema's definition (`_zod.def`, lengths and patterns from `_zod.bag`), and hostile
// variants of them: one or two values of a valid input replaced (strings with NUL and lone
// surrogates, numbers beyond int4, dates PostgreSQL cannot store, wrong types), a field dropped or
// an unknown one added. One change at a time gets past validation when nothing else is wrong, so a
// value the schemas let through reaches the database.
import fc from 'fast-check'
import type { z } from 'zod'

type Schema = z.core.$ZodType
type Arb = fc.Arbitrary<unknown>

export interface WalkOptions {
  /** Real values for a field (ids of the fixture, usernames…), so that calls get past "not found". */
  known?: (key: string, type: 'string' | 'number') => fc.Arbitrary<unknown> | undefined
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

const hostileNumbers = [
  2147483647, 2147483648, 2147483649, -2147483648, -2147483649, 4294967296, 99999999999, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
  1e21, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, Number.NaN, -0, 0, 0.5, -1, 1.0000001,
]
/** Mostly the edges: int4 ± 1, beyond safe integers, NaN and infinities, fractions. */
const hostileNumber = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...hostileNumbers) },
  { weight: 2, arbitrary: fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER }) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }) },
  { weight: 1, arbitrary: fc.double() },
)

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
  // fast-check cannot generate from zod's email pattern (lookaheads): plain addresses it accepts.
  if (bag.format === 'email') return fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,15}$/), fc.constantFrom('example.test', 'mail.example.org')).map(([user, domain]) => `${user.replace(/\.+$/, '')}@${domain}`)
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

/** Valid-looking values for `schema`; `key` is the field's name (for `opts.known`). */
export function arbitraryFor(schema: Schema, opts: WalkOptions, key = ''): Arb {
  const def = defOf(schema)
  switch (def.type) {
    case 'string': {
      const known = key ? opts.known?.(key, 'string') : undefined
      return known ? fc.oneof({ weight: 4, arbitrary: known }, { weight: 1, arbitrary: stringArbitrary(schema) }) : stringArbitrary(schema)
    }
    case 'number': {
      const known = key ? opts.known?.(key, 'number') : undefined
      return known ? fc.oneof({ weight: 3, arbitrary: known }, { weight: 1, arbitrary: numberArbitrary(schema) }) : numberArbitrary(schema)
    }
    case 'bigint':
      return fc.bigInt()
    case 'boolean':
      return fc.boolean()
    case 'date':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries as Record<string, string>))
    case 'literal':
      return fc.constantFrom(...(def.values as unknown[]))
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
    case 'pipe': {
      // `labels.transform(dedupe)`: what is sent is the input side's. `text().trim().pipe(z.email())`:
      // the input side only normalizes, the output side says what is valid.
      const [from, to] = [def.in as Schema, def.out as Schema]
      if (defOf(to).type === 'transform') return arbitraryFor(from, opts, key)
      if (defOf(from).type === 'transform') return arbitraryFor(to, opts, key)
      return arbitraryFor(to, opts, key)
    }
    case 'union':
      return fc.oneof(...(def.options as Schema[]).map(o => arbitraryFor(o, opts, key)))
    case 'array': {
      const bag = bagOf(schema)
      const minLength = typeof bag.minimum === 'number' ? bag.minimum : 0
      const maxLength = Math.min(typeof bag.maximum === 'number' ? bag.maximum : 5, 5)
      return fc.array(arbitraryFor(def.element as Schema, opts, key), { minLength, maxLength: Math.max(minLength, maxLength) })
    }
    case 'object': {
      const shape = def.shape as Record<string, Schema>
      return fc.record(Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, arbitraryFor(s, opts, k)])))
        .map(o => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)))
    }
    case 'record':
      return fc.dictionary(fc.string({ maxLength: 8 }), arbitraryFor(def.valueType as Schema, opts), { maxKeys: 3 })
    default:
      // any / unknown / custom: whatever a client could send
      return fc.anything({ maxDepth: 2 })
  }
}

// --- hostile variants ------------------------------------------------------------------------------

const injected = ['\u0000', '\uD800', '\uDC00', '\\', '%', '_'] as const

interface Change {
  /** string / number / date: replace a value of that type (any value when there is none) */
  kind: 'string' | 'number' | 'date' | 'inject' | 'drop' | 'add' | 'wrongType'
  /** which node of the value (modulo their number) */
  at: number
  string: string
  number: number
  date: unknown
  wrong: unknown
  key: string
  char: (typeof injected)[number]
  offset: number
}

const change: fc.Arbitrary<Change> = fc.record({
  kind: fc.constantFrom('string', 'string', 'string', 'number', 'number', 'number', 'date', 'inject', 'inject', 'drop', 'add', 'wrongType'),
  at: fc.nat(),
  string: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...hostileStrings) },
    // numbers as text, as a search or a seq would carry them: beyond int4 and beyond safe integers
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('', 'WEB-', 'x-'), fc.bigInt({ min: 2n ** 31n - 2n, max: 10n ** 20n })).map(([prefix, n]) => `${prefix}${n}`) },
    { weight: 2, arbitrary: fc.string({ unit: anyChar, maxLength: 24 }) },
  ),
  number: hostileNumber,
  date: hostileDate,
  wrong: wrongType,
  key: fc.string({ maxLength: 8 }),
  char: fc.constantFrom(...injected),
  offset: fc.nat(),
})

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone)
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]))
  return value
}

/** Every node of a value with where it sits (the root has no parent). */
function nodes(value: unknown, parent: Record<string, unknown> | unknown[] | null = null, key: string | number = '', out: { parent: typeof parent, key: string | number, value: unknown }[] = []) {
  out.push({ parent, key, value })
  if (Array.isArray(value)) value.forEach((v, i) => nodes(v, value, i, out))
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) nodes(v, value, k, out)
  return out
}

function hostileFor(value: unknown, c: Change): unknown {
  if (c.kind === 'wrongType') return c.wrong
  if (typeof value === 'string') {
    if (c.kind !== 'inject') return c.string
    const i = c.offset % (value.length + 1)
    return value.slice(0, i) + c.char + value.slice(i)
  }
  if (typeof value === 'number') return c.number
  if (value instanceof Date) return c.date
  return c.wrong
}

const ofKind: Partial<Record<Change['kind'], (v: unknown) => boolean>> = {
  string: v => typeof v === 'string',
  inject: v => typeof v === 'string',
  number: v => typeof v === 'number',
  date: v => v instanceof Date,
}

function applyChange(input: unknown, c: Change): unknown {
  const root = clone(input)
  const all = nodes(root)
  // Aim at a value of the change's type when the input has one: a hostile number where numbers go.
  const wanted = ofKind[c.kind]
  const aimed = wanted ? all.filter(n => wanted(n.value)) : []
  const candidates = aimed.length ? aimed : all
  const { parent, key, value } = candidates[c.at % candidates.length]!
  if (c.kind === 'add') {
    const target = isPlainObject(value) ? value : isPlainObject(root) ? root : null
    if (!target) return c.wrong
    target[c.key] = c.wrong
    return root
  }
  if (c.kind === 'drop') {
    if (!parent) return undefined
    if (Array.isArray(parent)) parent.splice(key as number, 1)
    else Reflect.deleteProperty(parent, key)
    return root
  }
  const next = hostileFor(value, c)
  if (!parent) return next
  ;(parent as Record<string | number, unknown>)[key] = next
  return root
}

/** Mostly a valid input with one or two hostile changes; sometimes the valid input as is. */
export function hostileVariants(valid: Arb): Arb {
  return fc.oneof(
    { weight: 1, arbitrary: valid },
    { weight: 5, arbitrary: fc.tuple(valid, change).map(([v, c]) => applyChange(v, c)) },
    { weight: 2, arbitrary: fc.tuple(valid, change, change).map(([v, a, b]) => applyChange(applyChange(v, a), b)) },
  )
}
