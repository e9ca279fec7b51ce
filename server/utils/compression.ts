import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'

export type Encoding = 'br' | 'gzip'

/** Smaller bodies gain little and cost a round of zlib: sent as they are. */
export const MIN_COMPRESS_BYTES = 1024

const brotli = promisify(brotliCompress)
const gz = promisify(gzip)

/**
 * The encoding to answer with for an Accept-Encoding header: br before gzip, honouring `q=0`
 * (refused) and `*`; null when neither is acceptable (identity).
 */
export function pickEncoding(acceptEncoding: string | null | undefined): Encoding | null {
  if (!acceptEncoding) return null
  const q = new Map<string, number>()
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';')
    if (!name) continue
    const qParam = params.map(p => p.trim()).find(p => p.startsWith('q='))
    const value = qParam ? Number(qParam.slice(2)) : 1
    q.set(name, Number.isFinite(value) ? value : 0)
  }
  const weight = (name: Encoding) => q.get(name) ?? q.get('*') ?? 0
  if (weight('br') > 0 && weight('br') >= weight('gzip')) return 'br'
  if (weight('gzip') > 0) return 'gzip'
  return null
}

/**
 * Compresses a rendered page. Brotli at quality 5: per-request HTML cannot wait for the slow
 * top levels that the build uses for static files (compressPublicAssets), and 5 already beats gzip.
 */
export function compress(body: string | Uint8Array, encoding: Encoding): Promise<Buffer> {
  const input = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)
  return encoding === 'br'
    ? brotli(input, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: input.length } })
    : gz(input, { level: 6 })
}
