import { appendResponseHeader, getRequestHeader } from 'h3'
import { defineNitroPlugin } from 'nitropack/runtime'
import { MIN_COMPRESS_BYTES, compress, pickEncoding } from '../utils/compression'

// Server-rendered pages compressed per Accept-Encoding (br, else gzip). Static files are compressed
// at build time (nitro.compressPublicAssets); the API's small JSON answers are left alone. The
// CSP nonce is already in the HTML by now (nuxt-security works in render:html), so compressing it
// changes nothing the browser checks.
export default defineNitroPlugin((nitroApp) => {
  nitroApp.hooks.hook('render:response', async (response, { event }) => {
    const body = response.body as unknown
    if (typeof body !== 'string' || Buffer.byteLength(body) < MIN_COMPRESS_BYTES) return
    const encoding = pickEncoding(getRequestHeader(event, 'accept-encoding'))
    appendResponseHeader(event, 'vary', 'Accept-Encoding')
    if (!encoding) return
    response.body = await compress(body, encoding)
    response.headers = { ...response.headers, 'content-encoding': encoding }
  })
})
