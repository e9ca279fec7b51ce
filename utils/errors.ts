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

export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [field, messages] of Object.entries(errorData(err)?.fieldErrors ?? {})) {
    if (messages?.length) out[field] = messages[0]!
  }
  return out
}

/** A sentence for a toast: what happened, and what to try when we know. */
export function errorMessage(err: unknown): string {
  const code = errorCode(err)
  const message = err instanceof Error ? err.message : ''
  if (code === 'UNAUTHORIZED' && !message) return 'Your session ended. Sign in again.'
  if (code === 'TOO_MANY_REQUESTS') return message || 'Too many attempts. Wait a moment and try again.'
  if (message && message !== 'Invalid input') return message
  if (message === 'Invalid input') return 'Some fields need attention.'
  if (err instanceof TypeError || message.includes('fetch')) return 'Could not reach the server. Check your connection and try again.'
  return 'Something went wrong. Please try again.'
}
