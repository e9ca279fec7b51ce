/** One stored draft: the form's text per edited field, and when it was last written. */
export interface StoredDraft<Field extends string> {
  fields: Partial<Record<Field, string>>
  at: number
}

const PREFIX = 'tasktracker:draft:'

function storage(): Storage | null {
  try {
    return import.meta.client ? window.localStorage : null
  }
  catch {
    return null // Storage blocked (private mode settings): drafts are simply not kept.
  }
}

/** The localStorage key of one user's draft of one task (two accounts on one browser never share). */
export const taskDraftKey = (userId: string, taskId: string) => `${PREFIX}${userId}:${taskId}`

/**
 * Deletes the drafts kept on this device, except those of `keepUserId`: at sign-out all of them, at
 * sign-in those of whoever used the browser before, so nobody's unsaved text stays for the next user.
 */
export function forgetDrafts(keepUserId?: string) {
  const store = storage()
  if (!store) return
  const keep = keepUserId ? `${PREFIX}${keepUserId}:` : null
  const doomed: string[] = []
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i)
    if (key?.startsWith(PREFIX) && !(keep && key.startsWith(keep))) doomed.push(key)
  }
  for (const key of doomed) store.removeItem(key)
}

/**
 * Unsaved edits of a task kept on this device, per field, so a closed panel or a reload loses
 * nothing. Only the fields in `fields` are kept: a field edited live elsewhere (a collaborative
 * description) leaves itself out of the list.
 */
export function draftStorage<Field extends string>(key: () => string | null, fields: readonly Field[]) {
  function read(): StoredDraft<Field> | null {
    const k = key()
    const raw = k ? storage()?.getItem(k) : null
    if (!raw) return null
    try {
      const parsed = JSON.parse(raw) as StoredDraft<Field>
      const kept = Object.fromEntries(Object.entries(parsed.fields ?? {})
        .filter(([f, v]) => (fields as readonly string[]).includes(f) && typeof v === 'string')) as Partial<Record<Field, string>>
      return Object.keys(kept).length ? { fields: kept, at: Number(parsed.at) || Date.now() } : null
    }
    catch {
      return null
    }
  }

  /** Stores the edited fields; none left removes the draft. */
  function write(values: Partial<Record<Field, string>>) {
    const k = key()
    const store = storage()
    if (!k || !store) return
    const kept = Object.fromEntries(Object.entries(values).filter(([f]) => (fields as readonly string[]).includes(f)))
    try {
      if (Object.keys(kept).length) store.setItem(k, JSON.stringify({ fields: kept, at: Date.now() }))
      else store.removeItem(k)
    }
    catch {
      // Full storage: the form still holds the edits; only the copy on the device is missing.
    }
  }

  function clear() {
    const k = key()
    if (k) storage()?.removeItem(k)
  }

  return { read, write, clear }
}

/** The task panel's fields kept in drafts; not the description, which is a live shared document (decision 0019). */
export const DRAFT_FIELDS = ['title', 'status', 'priority', 'assigneeId', 'dueDate', 'labels'] as const
