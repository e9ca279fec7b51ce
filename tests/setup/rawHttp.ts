// HTTP calls the way a hostile client makes them (node:http, not fetch): a Content-Length that is
// not honoured, a chunked body that never ends, a Host header of its choosing.
import { request } from 'node:http'
import superjson from 'superjson'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  /** body bytes the client had written when the response headers arrived */
  sentWhenAnswered: number
}

/**
 * Sends `headers` and then body chunks of `chunkBytes` until the server answers or `maxBytes` were
 * written (never ending the body unless `end` is set: the server must answer without the rest).
 */
export function sendBody(url: string, opts: { method?: string, headers?: Record<string, string>, chunkBytes?: number, maxBytes: number, end?: boolean }): Promise<RawResponse> {
  const { method = 'POST', headers = {}, chunkBytes = 64 * 1024, maxBytes, end = false } = opts
  return new Promise((resolve, reject) => {
    let sent = 0
    let answered = false
    const req = request(url, { method, headers }, (res) => {
      answered = true
      const sentWhenAnswered = sent
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, sentWhenAnswered })
      })
    })
    // Writing on after the server closed the connection fails; only a failure before the answer counts.
    req.on('error', error => !answered && reject(error))
    const chunk = Buffer.alloc(chunkBytes, 'a')
    const pump = () => {
      while (!answered && sent < maxBytes) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      if (end && !answered) req.end()
    }
    req.flushHeaders()
    pump()
  })
}

/** A tRPC call over HTTP with superjson inputs; `paths` of more than one make a batch. */
export async function trpcCall(baseUrl: string, paths: string[], opts: { method?: 'GET' | 'POST', inputs?: unknown[], headers?: Record<string, string> } = {}) {
  const method = opts.method ?? 'POST'
  const batch = paths.length > 1
  const inputs = opts.inputs ?? []
  const wire = batch
    ? Object.fromEntries(inputs.map((input, i) => [String(i), superjson.serialize(input)]))
    : inputs.length ? superjson.serialize(inputs[0]) : undefined
  const query = new URLSearchParams()
  if (batch) query.set('batch', '1')
  if (method === 'GET' && wire !== undefined) query.set('input', JSON.stringify(wire))
  const url = `${baseUrl}/api/trpc/${paths.join(',')}${query.size ? `?${query}` : ''}`
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: method === 'POST' && wire !== undefined ? JSON.stringify(wire) : undefined,
  })
  const json = await res.json() as TrpcEnvelope | TrpcEnvelope[]
  return { status: res.status, headers: res.headers, json, errors: (Array.isArray(json) ? json : [json]).map(e => e.error?.json) }
}

export interface TrpcEnvelope {
  result?: { data: unknown }
  error?: { json: { message: string, code: number, data: { code: string, httpStatus: number, details?: Record<string, unknown> } } }
}

/** The tRPC error of a raw response body (single call). */
export function trpcError(text: string) {
  return (JSON.parse(text) as TrpcEnvelope).error?.json
}
