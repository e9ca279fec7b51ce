// The stored form of a session or API token: SHA-256 in lower-case hex, as the Lucia guide has it.
// Rows written before the hash moved to node:crypto must still match.
import { describe, expect, it } from 'vitest'
import { generateToken, hashToken } from '../../server/services/session'

describe('hashToken', () => {
  it('is the SHA-256 of the token in lower-case hex (the FIPS 180-2 "abc" vector)', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('hashes a generated token to 64 hex digits, differently for different tokens', () => {
    const [a, b] = [generateToken(), generateToken()]
    expect(a).toMatch(/^[a-z2-7]{32}$/)
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/)
    expect(hashToken(a)).not.toBe(hashToken(b))
  })
})
