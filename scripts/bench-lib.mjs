// Pieces shared by the benchmark scripts (bench-api.mjs, bench-ws.mjs).
import { createServer } from 'node:net'
import superjson from 'superjson'

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}

/** tRPC over HTTP (superjson) against `base`, keeping the session cookie it is given, as one browser would. */
export function httpCaller(base) {
  let cookie = ''
  const call = async (type, path, input) => {
    const url = type === 'query'
      ? `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`
      : `${base}/api/trpc/${path}`
    const res = await fetch(url, {
      method: type === 'query' ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: type === 'query' ? undefined : JSON.stringify(superjson.serialize(input)),
    })
    const setCookie = res.headers.get('set-cookie')
    if (setCookie) cookie = setCookie.split(';')[0]
    const body = await res.json()
    if (body.error) throw new Error(`${path}: ${JSON.stringify(body.error.json?.message ?? body.error)}`)
    return superjson.deserialize(body.result.data)
  }
  return { call, cookie: () => cookie }
}
