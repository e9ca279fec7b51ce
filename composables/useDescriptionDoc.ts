import type { Unsubscribable } from '@trpc/server/observable'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import { ref, type Ref } from 'vue'
import * as Y from 'yjs'
// Relative and with explicit imports: no Nuxt needed, so tests/unit runs it as is.
import { DESCRIPTION_UPDATE_MAX_BYTES, type DescriptionMessage } from '../shared/schemas/description'

/** What the live description needs of the tab's socket client (`$trpcWs`); tests hand in another one. */
export interface DescriptionClient {
  description: {
    onDoc: { subscribe: (input: { taskId: string, stateVector?: string }, handlers: {
      onData: (message: DescriptionMessage) => void
      onError?: (error: unknown) => void
    }) => Unsubscribable }
    push: { mutate: (input: { taskId: string, update?: string, awareness?: string }) => Promise<unknown> }
  }
}

/** Local edits are sent together at most this often (a user's sockets take 10 calls a second). */
export const DESCRIPTION_SEND_MS = 200
const RETRY_MS = 1_000

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

const palette = ['#d1453b', '#c2710c', '#2f8a3b', '#1f7a8c', '#3566c9', '#7a4bc4', '#b83280', '#5d6b2f']

/** A person's colour for cursors: the same on every tab and device (from their id). */
export function cursorColor(userId: string): string {
  let hash = 0
  for (let i = 0; i < userId.length; i++) hash = (hash * 31 + userId.charCodeAt(i)) >>> 0
  return palette[hash % palette.length]!
}

export interface DescriptionSession {
  doc: Y.Doc
  text: Y.Text
  awareness: Awareness
  /** the first sync arrived (the editor shows the shared text from then on) */
  synced: Ref<boolean>
  canWrite: Ref<boolean>
  /** local edits not yet acknowledged by the server */
  pending: Ref<boolean>
  stop: () => void
}

/**
 * A task's shared description document (issue 17): synced over `description.onDoc` (the first
 * message gives what this tab lacks and the server's state vector, answered with what the server
 * lacks: edits made offline go out on every (re)connect), local edits sent in batches through
 * `description.push` (kept and resent until acknowledged), and this tab's cursor as awareness.
 */
export function openDescriptionDoc(client: DescriptionClient, taskId: string, user: { id: string, name: string }): DescriptionSession {
  const doc = new Y.Doc()
  const text = doc.getText('description')
  const awareness = new Awareness(doc)
  const color = cursorColor(user.id)
  awareness.setLocalStateField('user', { name: user.name, color, colorLight: `${color}33`, id: user.id })
  const synced = ref(false)
  const canWrite = ref(false)
  const pending = ref(false)
  let updates: Uint8Array[] = []
  let awarenessDirty = false
  let timer: ReturnType<typeof setTimeout> | null = null
  let sending = false
  let stopped = false

  const schedule = (delay = DESCRIPTION_SEND_MS) => {
    if (timer || stopped) return
    timer = setTimeout(() => {
      timer = null
      void send()
    }, delay)
  }

  async function send() {
    if (sending || stopped || !synced.value) return
    // As many of the waiting updates as fit in one call (a long offline session takes several).
    let count = 0
    let bytes = 0
    while (canWrite.value && count < updates.length && (count === 0 || bytes + updates[count]!.byteLength <= DESCRIPTION_UPDATE_MAX_BYTES / 2)) bytes += updates[count++]!.byteLength
    const taken = updates.slice(0, count)
    const batch = taken.length ? Y.mergeUpdates(taken) : null
    const sendAwareness = awarenessDirty
    if (!batch && !sendAwareness) return
    updates = updates.slice(count)
    awarenessDirty = false
    sending = true
    try {
      await client.description.push.mutate({
        taskId,
        update: batch ? bytesToBase64(batch) : undefined,
        awareness: sendAwareness ? bytesToBase64(encodeAwarenessUpdate(awareness, [doc.clientID])) : undefined,
      })
    }
    catch {
      // Kept and sent again (a reconnect also resends whatever the server lacks).
      updates = [...taken, ...updates]
      awarenessDirty ||= sendAwareness
      sending = false
      pending.value = updates.length > 0
      schedule(RETRY_MS)
      return
    }
    sending = false
    pending.value = updates.length > 0
    if (updates.length || awarenessDirty) schedule()
  }

  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin === 'server') return
    updates.push(update)
    pending.value = true
    schedule()
  })
  awareness.on('update', (_: unknown, origin: unknown) => {
    if (origin !== 'local') return
    awarenessDirty = true
    schedule()
  })

  const subscription = client.description.onDoc.subscribe({ taskId, stateVector: bytesToBase64(Y.encodeStateVector(doc)) }, {
    onData(message) {
      if (message.kind === 'sync') {
        Y.applyUpdate(doc, base64ToBytes(message.update), 'server')
        for (const state of message.awareness) applyAwarenessUpdate(awareness, base64ToBytes(state), 'server')
        canWrite.value = message.canWrite
        synced.value = true
        // Whatever the server lacks (edits made offline, or sent while the socket was down) goes now.
        const missing = Y.encodeStateAsUpdate(doc, base64ToBytes(message.stateVector))
        if (canWrite.value && missing.byteLength > 2 && missing.byteLength <= DESCRIPTION_UPDATE_MAX_BYTES) updates = [missing]
        awarenessDirty = true
        void send()
      }
      else if (message.kind === 'update') Y.applyUpdate(doc, base64ToBytes(message.update), 'server')
      else applyAwarenessUpdate(awareness, base64ToBytes(message.update), 'server')
    },
    onError() {
      synced.value = false
    },
  })

  return {
    doc,
    text,
    awareness,
    synced,
    canWrite,
    pending,
    stop() {
      if (stopped) return
      // Tell the others this cursor is gone, with any edit not sent yet, then stop.
      removeAwarenessStates(awareness, [doc.clientID], 'local')
      const last = updates.length && canWrite.value ? bytesToBase64(Y.mergeUpdates(updates)) : undefined
      void client.description.push.mutate({ taskId, update: last, awareness: bytesToBase64(encodeAwarenessUpdate(awareness, [doc.clientID])) }).catch(() => {})
      stopped = true
      if (timer) clearTimeout(timer)
      subscription.unsubscribe()
      awareness.destroy()
      doc.destroy()
    },
  }
}
