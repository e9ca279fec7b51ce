import { randomBytes } from 'node:crypto'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'

/** A 25-character random id (125 bits), URL-safe and unguessable. */
export function newId(): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(16)).slice(0, 25)
}
