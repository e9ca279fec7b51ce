export type ToastKind = 'success' | 'error' | 'info'

/** A button on a toast ("Undo"): runs once, then the toast goes. */
export interface ToastAction {
  label: string
  run: () => unknown
}

export interface Toast {
  id: number
  kind: ToastKind
  message: string
  action?: ToastAction
}

let nextId = 1

/** App-wide toasts: short confirmations, and errors that say what happened and what to try. */
export function useToast() {
  const toasts = useState<Toast[]>('toasts', () => [])

  function dismiss(id: number) {
    toasts.value = toasts.value.filter(t => t.id !== id)
  }

  function push(kind: ToastKind, message: string, timeoutMs = kind === 'error' ? 8000 : 4000, action?: ToastAction) {
    // The same news can come two ways (a live board event and a notification): say it once.
    const showing = toasts.value.find(t => t.kind === kind && t.message === message)
    if (showing) return showing.id
    const id = nextId++
    toasts.value = [...toasts.value, { id, kind, message, ...(action ? { action } : {}) }].slice(-5)
    if (import.meta.client && timeoutMs > 0) setTimeout(() => dismiss(id), timeoutMs)
    return id
  }

  return {
    toasts,
    dismiss,
    success: (message: string) => push('success', message),
    info: (message: string) => push('info', message),
    error: (message: string) => push('error', message),
    /** A confirmation with a button, shown longer so there is time to press it (delete → "Undo"). */
    withAction: (message: string, action: ToastAction) => push('success', message, 10_000, action),
  }
}
