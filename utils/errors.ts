/** The parts of a TRPCClientError the UI reads; anything else thrown is shown by its message. */
interface ApiErrorData {
  code?: string
  fieldErrors?: Record<string, string[] | undefined>
  formErrors?: string[]
}

function errorData(err: unknown): ApiErrorData | undefined {
  if (err && typeof err === 'object' && 'data' in err) {
    const data = (err as { data?: unknown }).data
    if (data && typeof data === 'object') return data as ApiErrorData
  }
  return undefined
}

export function errorCode(err: unknown): string | undefined {
  return errorData(err)?.code
}

/** The server's first message per field, by its dotted path (`patch.title`). */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [field, messages] of Object.entries(errorData(err)?.fieldErrors ?? {})) {
    if (messages?.length) out[field] = messages[0]!
  }
  return out
}

/** Errors sorted onto a form: those of its fields, and the rest (shown elsewhere, never dropped). */
export interface FormFieldErrors {
  fields: Record<string, string>
  unmatched: Record<string, string>
}

/**
 * Maps dotted error paths to a form's field names. The server names a field by where it sits in the
 * procedure's input (`patch.title` for task.update, `input.patch.title` from some callers), the form
 * by itself (`title`): the longest tail of the path that is one of `fields` wins. Array indices
 * (`labels.0`, from a client-side zod parse) point at the list's one field.
 */
export function mapFieldErrors(errors: Record<string, string>, fields: readonly string[]): FormFieldErrors {
  const known = new Set(fields)
  const out: FormFieldErrors = { fields: {}, unmatched: {} }
  for (const [path, message] of Object.entries(errors)) {
    const segments = path.split('.').filter(s => s !== '' && !/^\d+$/.test(s))
    let field: string | undefined
    for (let i = 0; i < segments.length && !field; i++) {
      const tail = segments.slice(i).join('.')
      if (known.has(tail)) field = tail
    }
    if (field) out.fields[field] ??= message
    else out.unmatched[path] = message
  }
  return out
}

/** Field errors of a failed zod parse, by dotted path, first message each (as the server sends them). */
export function issueErrors(issues: readonly { path: readonly PropertyKey[], message: string }[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const issue of issues) out[issue.path.map(String).join('.')] ??= issue.message
  return out
}

/** A sentence for a toast: what happened, and what to try when we know. */
export function errorMessage(err: unknown): string {
  const code = errorCode(err)
  const message = err instanceof Error ? err.message : ''
  if (code === 'UNAUTHORIZED' && !message) return 'Your session ended. Sign in again.'
  if (code === 'TOO_MANY_REQUESTS') return message || 'Too many attempts. Wait a moment and try again.'
  if (message && message !== 'Invalid input') return message
  if (message === 'Invalid input') {
    // Name the fields, so a form that cannot show one of them beside an input still says which.
    const named = Object.entries(fieldErrors(err)).map(([path, text]) => `${path.split('.').pop()}: ${text}`)
    return named.length ? `Some fields need attention (${named.join('; ')}).` : 'Some fields need attention.'
  }
  if (err instanceof TypeError || message.includes('fetch')) return 'Could not reach the server. Check your connection and try again.'
  return 'Something went wrong. Please try again.'
}
