import { z } from 'zod'
import { idSchema } from './common'

/**
 * A Yjs update or awareness update on the wire: base64 (a JSON string, which superjson passes
 * through untouched; a number array would cost ~3.6 characters a byte instead of 1.33). 32 KiB of
 * update is ~43 KiB of base64: one call stays under the socket's 64 KiB frame limit.
 */
export const DESCRIPTION_UPDATE_MAX_BYTES = 32 * 1024
const base64 = (maxBytes: number) => z.string()
  .max(Math.ceil(maxBytes / 3) * 4, `At most ${maxBytes} bytes`)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'Not base64')

export const descriptionUpdateSchema = base64(DESCRIPTION_UPDATE_MAX_BYTES)
export const descriptionAwarenessSchema = base64(8 * 1024)

export const descriptionSubscribeInput = z.object({
  taskId: idSchema,
  /** The client's state vector (base64, Y.encodeStateVector): the first message carries what it lacks. */
  stateVector: base64(16 * 1024).optional(),
})

export const descriptionPushInput = z.object({
  taskId: idSchema,
  /** Yjs update (members only; a viewer gets FORBIDDEN). */
  update: descriptionUpdateSchema.min(1).optional(),
  /** y-protocols awareness update: this tab's cursor, selection, name and colour. */
  awareness: descriptionAwarenessSchema.min(1).optional(),
}).refine(v => v.update !== undefined || v.awareness !== undefined, 'Send an update or an awareness update')

export type DescriptionPushInput = z.infer<typeof descriptionPushInput>

/** What `description.onDoc` streams. */
export type DescriptionMessage
  = | {
    kind: 'sync'
    /** what the client lacks (Y.encodeStateAsUpdate against its state vector) */
    update: string
    /** the server's state vector: the client answers with what the server lacks */
    stateVector: string
    /** the other tabs' awareness states */
    awareness: string[]
    /** whether this caller may write (viewers read only) */
    canWrite: boolean
  }
  | { kind: 'update', update: string }
  | { kind: 'awareness', update: string }
