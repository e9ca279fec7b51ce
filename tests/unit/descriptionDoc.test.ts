// The live description's client side (composables/useDescriptionDoc.ts) against a scripted server:
// keystrokes go out batched, a failed send is kept and sent again, and what the server lacks after a
// (re)connect (offline edits) is sent from its state vector.
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { base64ToBytes, bytesToBase64, cursorColor, DESCRIPTION_SEND_MS, openDescriptionDoc, type DescriptionClient, type DescriptionSession } from '../../composables/useDescriptionDoc'
import type { DescriptionMessage } from '../../shared/schemas/description'

/** A server copy of the document, its stream to the tab, and what the tab pushed. */
function fakeServer(initial = '') {
  const doc = new Y.Doc()
  if (initial) doc.getText('description').insert(0, initial)
  const pushes: { update?: string, awareness?: string }[] = []
  let emit: ((message: DescriptionMessage) => void) | null = null
  let fail = 0
  const client: DescriptionClient = {
    description: {
      onDoc: {
        subscribe: (input, handlers) => {
          emit = handlers.onData
          const sv = input.stateVector ? base64ToBytes(input.stateVector) : undefined
          queueMicrotask(() => handlers.onData({
            kind: 'sync',
            update: bytesToBase64(Y.encodeStateAsUpdate(doc, sv)),
            stateVector: bytesToBase64(Y.encodeStateVector(doc)),
            awareness: [],
            canWrite: true,
          }))
          return { unsubscribe: () => void (emit = null) }
        },
      },
      push: {
        mutate: async (input) => {
          if (fail > 0) {
            fail--
            throw new Error('socket closed')
          }
          pushes.push(input)
          if (input.update) Y.applyUpdate(doc, base64ToBytes(input.update))
          return { ok: true }
        },
      },
    },
  }
  return {
    client,
    doc,
    pushes,
    updates: () => pushes.filter(p => p.update),
    failNext: (n: number) => void (fail = n),
    /** The server sends a sync again, as after a reconnect. */
    resync: () => emit?.({
      kind: 'sync',
      update: bytesToBase64(Y.encodeStateAsUpdate(doc)),
      stateVector: bytesToBase64(Y.encodeStateVector(doc)),
      awareness: [],
      canWrite: true,
    }),
  }
}

describe('live description client', () => {
  const sessions: DescriptionSession[] = []
  afterEach(() => {
    for (const s of sessions.splice(0)) s.stop()
    vi.useRealTimers()
  })

  it('syncs, then sends a burst of keystrokes as one batched update', async () => {
    const server = fakeServer('Hello')
    const session = openDescriptionDoc(server.client, 't1', { id: 'u1', name: 'Ana' })
    sessions.push(session)
    await vi.waitFor(() => expect(session.synced.value).toBe(true))
    expect(session.text.toString()).toBe('Hello')
    expect(server.updates()).toHaveLength(0)

    for (const c of ', world') session.text.insert(session.text.length, c)
    await vi.waitFor(() => expect(server.doc.getText('description').toString()).toBe('Hello, world'), { timeout: DESCRIPTION_SEND_MS * 10 })
    expect(server.updates()).toHaveLength(1)
    await vi.waitFor(() => expect(session.pending.value).toBe(false))
  })

  it('keeps an update whose send failed and sends it again; a reconnect sends what the server lacks', async () => {
    const server = fakeServer()
    const session = openDescriptionDoc(server.client, 't1', { id: 'u1', name: 'Ana' })
    sessions.push(session)
    await vi.waitFor(() => expect(session.synced.value).toBe(true))

    server.failNext(1)
    session.text.insert(0, 'kept')
    await vi.waitFor(() => expect(server.doc.getText('description').toString()).toBe('kept'), { timeout: 5_000 })

    // Offline: the server's copy moves on without this tab, and this tab types; the reconnect's sync merges both.
    server.failNext(1000)
    session.text.insert(4, ' mine')
    server.doc.getText('description').insert(0, 'theirs ')
    server.failNext(0)
    server.resync()
    await vi.waitFor(() => {
      expect(session.text.toString()).toBe(server.doc.getText('description').toString())
      expect(session.text.toString()).toContain('theirs ')
      expect(session.text.toString()).toContain(' mine')
    }, { timeout: 5_000 })
  })

  it('gives each person one colour on every tab', () => {
    expect(cursorColor('user-a')).toBe(cursorColor('user-a'))
    expect(cursorColor('user-a')).toMatch(/^#[0-9a-f]{6}$/)
  })
})
