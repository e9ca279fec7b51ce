// The VAPID key pair that signs every push request (RFC 8292): VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY
// when set; otherwise a pair generated on first use and kept in the database (AppSecret
// `vapid-p256`), so every instance on the database signs with the same key and browsers subscribed
// through one instance receive pushes sent by any other.
import webpush from 'web-push'
import { getOrCreateAppSecret } from '../services/wsTicket'
import type { DbTx } from '../utils/db'
import { useEnv, type Env } from '../utils/env'

export const VAPID_SECRET_NAME = 'vapid-p256'

export interface VapidKeys {
  publicKey: string
  privateKey: string
  subject: string
}

type VapidEnv = Pick<Env, 'VAPID_PUBLIC_KEY' | 'VAPID_PRIVATE_KEY' | 'vapidSubject'>

/** Reads the key pair once per process and database; a failed read is retried on the next call. */
export class VapidKeySource {
  private readonly loaded = new WeakMap<object, Promise<VapidKeys>>()

  constructor(private readonly env: () => VapidEnv = useEnv) {}

  get(db: DbTx): Promise<VapidKeys> {
    const { VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, vapidSubject } = this.env()
    if (VAPID_PUBLIC_KEY && VAPID_PRIVATE_KEY) return Promise.resolve({ publicKey: VAPID_PUBLIC_KEY, privateKey: VAPID_PRIVATE_KEY, subject: vapidSubject })
    let keys = this.loaded.get(db)
    if (!keys) {
      keys = getOrCreateAppSecret(db, VAPID_SECRET_NAME, () => JSON.stringify(webpush.generateVAPIDKeys())).then((value) => {
        const pair = JSON.parse(value) as { publicKey: string, privateKey: string }
        return { publicKey: pair.publicKey, privateKey: pair.privateKey, subject: vapidSubject }
      })
      this.loaded.set(db, keys)
      keys.catch(() => this.loaded.delete(db))
    }
    return keys
  }
}

export const vapidKeys = new VapidKeySource()
