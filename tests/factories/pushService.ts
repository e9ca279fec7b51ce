// A push service for tests: a local HTTP server that plays Google's or Mozilla's part. Each
// subscription it hands out has its own P-256 key pair and auth secret (as a browser would), so it
// decrypts what arrives itself (RFC 8291 aes128gcm with node:crypto HKDF and AES-128-GCM; nothing
// of web-push is used) and checks the VAPID Authorization header (RFC 8292: an ES256 JWT verified
// with the key it carries, whose audience is this server's origin).
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify, type ECDH } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface PushArrival {
  /** which subscription (the path's last segment) */
  name: string
  /** the decrypted JSON payload */
  payload: unknown
  headers: IncomingMessage['headers']
  /** the VAPID claims (aud, exp, sub) and key */
  vapid: { aud: string, exp: number, sub: string, key: string }
  at: number
}

/** How the service answers one request: a status and optional headers (default 201); `hang` never answers. */
export type PushAnswer = { status: number, headers?: Record<string, string> } | 'hang'

export interface TestSubscription {
  name: string
  endpoint: string
  keys: { p256dh: string, auth: string }
  ecdh: ECDH
  authSecret: Buffer
}

function hkdf(salt: Buffer, ikm: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length))
}

/** Decrypts one aes128gcm message (RFC 8188 framing, RFC 8291 keys) for the subscription's key pair. */
export function decryptAes128gcm(body: Buffer, sub: Pick<TestSubscription, 'ecdh' | 'authSecret'>): Buffer {
  const salt = body.subarray(0, 16)
  const rs = body.readUInt32BE(16)
  const idlen = body[20]!
  const asPublic = body.subarray(21, 21 + idlen)
  const ciphertext = body.subarray(21 + idlen)
  if (idlen !== 65) throw new Error(`keyid must be the sender's 65-byte public key, got ${idlen} bytes`)
  if (ciphertext.length > rs) throw new Error('more than one record')
  const uaPublic = sub.ecdh.getPublicKey()
  const ecdhSecret = sub.ecdh.computeSecret(asPublic)
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic])
  const ikm = hkdf(sub.authSecret, ecdhSecret, keyInfo, 32)
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16)
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12)
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16))
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()])
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end--
  if (padded[end] !== 2) throw new Error('missing the last-record delimiter')
  return padded.subarray(0, end)
}

/** Checks `vapid t=<jwt>, k=<key>` and returns the claims; throws when the signature does not verify. */
export function verifyVapid(authorization: string | undefined): PushArrival['vapid'] {
  const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(authorization ?? '')
  if (!match) throw new Error(`not a VAPID Authorization header: ${authorization}`)
  const [, jwt, key] = match as unknown as [string, string, string]
  const [header, claims, signature] = jwt.split('.') as [string, string, string]
  const h = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg: string }
  if (h.alg !== 'ES256') throw new Error(`alg ${h.alg}`)
  const raw = Buffer.from(key, 'base64url')
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('k is not an uncompressed P-256 key')
  const publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' })
  const ok = verify('sha256', Buffer.from(`${header}.${claims}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
  if (!ok) throw new Error('VAPID signature does not verify')
  const c = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { aud: string, exp: number, sub: string }
  return { ...c, key }
}

export class TestPushService {
  readonly arrivals: PushArrival[] = []
  readonly errors: string[] = []
  /** requests per subscription name, answered or not */
  readonly hits = new Map<string, number[]>()
  private readonly subs = new Map<string, TestSubscription>()
  private readonly scripts = new Map<string, PushAnswer[]>()
  private server: Server | null = null
  origin = ''

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res))
    await new Promise<void>(resolve => this.server!.listen(0, '127.0.0.1', resolve))
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop() {
    this.server?.closeAllConnections()
    await new Promise<void>(resolve => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  /** A new browser subscription on this service: its own key pair and auth secret. */
  subscription(name = randomBytes(6).toString('hex')): TestSubscription {
    const ecdh = createECDH('prime256v1')
    ecdh.generateKeys()
    const authSecret = randomBytes(16)
    const sub: TestSubscription = {
      name,
      endpoint: `${this.origin}/push/${name}`,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
      ecdh,
      authSecret,
    }
    this.subs.set(name, sub)
    return sub
  }

  /** The next answers for a subscription, in order (then 201). */
  answer(name: string, ...answers: PushAnswer[]) {
    this.scripts.set(name, [...(this.scripts.get(name) ?? []), ...answers])
  }

  received(name: string): PushArrival[] {
    return this.arrivals.filter(a => a.name === name)
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const name = req.url?.split('/').pop() ?? ''
    this.hits.set(name, [...(this.hits.get(name) ?? []), Date.now()])
    const sub = this.subs.get(name)
    if (!sub || req.method !== 'POST') {
      res.writeHead(404).end()
      return
    }
    const scripted = this.scripts.get(name)?.shift()
    if (scripted === 'hang') return
    if (scripted) {
      res.writeHead(scripted.status, scripted.headers).end()
      return
    }
    try {
      if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error(`Content-Encoding ${req.headers['content-encoding']}`)
      if (!req.headers.ttl) throw new Error('no TTL header')
      const vapid = verifyVapid(req.headers.authorization)
      if (vapid.aud !== this.origin) throw new Error(`aud ${vapid.aud} is not ${this.origin}`)
      if (vapid.exp * 1000 < Date.now() || vapid.exp * 1000 > Date.now() + 24 * 3600_000 + 60_000) throw new Error(`exp ${vapid.exp} out of range`)
      const payload = JSON.parse(decryptAes128gcm(Buffer.concat(chunks), sub).toString('utf8'))
      this.arrivals.push({ name, payload, headers: req.headers, vapid, at: Date.now() })
      res.writeHead(201).end()
    }
    catch (error) {
      this.errors.push((error as Error).message)
      res.writeHead(400).end()
    }
  }
}
