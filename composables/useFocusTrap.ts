import type { Ref } from 'vue'

export interface FocusTrapOptions {
  /** Trap only while this is true (e.g. the task panel only as a phone's full-screen sheet). Default: always. */
  active?: MaybeRefOrGetter<boolean>
  /** Esc inside the trap: called, and the key goes no further (an outer dialog stays open). */
  onEscape?: () => void
  /**
   * Modal (default): focus that lands outside (a click, a script) is pulled back in. A popup that a
   * click outside closes (the notification center) is not modal: only Tab and Esc are kept inside.
   */
  modal?: boolean
  /** Where focus goes on activation; default the container if it has a tabindex, else its first control. */
  initialFocus?: () => HTMLElement | null | undefined
  /** When the opener is gone on close (a card that moved to another column), focus this instead. */
  fallbackFocus?: () => HTMLElement | null | undefined
}

const FOCUSABLE = [
  'a[href]', 'area[href]', 'button:not([disabled])', 'input:not([disabled]):not([type="hidden"])',
  'select:not([disabled])', 'textarea:not([disabled])', 'iframe', '[contenteditable="true"]',
  '[tabindex]:not([tabindex="-1"])',
].join(',')

/** What Tab can reach inside `root`, in order: enabled, shown, not taken out of the tab order. */
export function tabbables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(el =>
    el.tabIndex >= 0 && !el.closest('[inert], [hidden]') && (typeof el.checkVisibility !== 'function' || el.checkVisibility()),
  )
}

/** Active traps in the order they turned on. */
const stack: { id: symbol, el: HTMLElement }[] = []

/**
 * The trap in charge: of the traps with no other active trap inside them, the last one turned on.
 * (A nested dialog mounts, and so turns on, before the panel around it.)
 */
function inCharge() {
  return stack.filter(t => !stack.some(o => o !== t && t.el.contains(o.el))).at(-1)?.id
}

/**
 * Keeps keyboard focus inside `container` while it is mounted (and `active`): focus moves in when it
 * activates, Tab and Shift+Tab wrap around at the ends, focus that lands outside (a click, a script)
 * is pulled back, Esc calls `onEscape`. On unmount (active or not) focus returns to the element that
 * had it when the owner was created (the opener), or to `fallbackFocus` when that is gone.
 */
export function useFocusTrap(container: Ref<HTMLElement | null | undefined>, options: FocusTrapOptions = {}) {
  const id = Symbol('focus-trap')
  /** What had focus when the owner was created (focus returns there on unmount) and when the trap last turned on. */
  let opener: HTMLElement | null = null
  let activatedFrom: HTMLElement | null = null
  let trapping = false
  let listeningOn: HTMLElement | null = null

  // The opener is whatever had focus when the trap's owner was created (before its own autofocus).
  if (import.meta.client && document.activeElement instanceof HTMLElement && document.activeElement !== document.body) opener = document.activeElement

  const innermost = () => inCharge() === id

  function onKeydown(e: KeyboardEvent) {
    const root = container.value
    if (!trapping || !innermost() || !root) return
    if (e.key === 'Escape' && options.onEscape) {
      e.preventDefault()
      e.stopPropagation()
      options.onEscape()
      return
    }
    if (e.key !== 'Tab') return
    const items = tabbables(root)
    const first = items[0]
    const last = items.at(-1)
    if (!first || !last) {
      e.preventDefault()
      root.focus()
      return
    }
    const current = document.activeElement
    if (e.shiftKey && (current === first || current === root)) {
      e.preventDefault()
      last.focus()
    }
    else if (!e.shiftKey && current === last) {
      e.preventDefault()
      first.focus()
    }
  }

  function onFocusIn(e: FocusEvent) {
    const root = container.value
    if (!trapping || !innermost() || !root || options.modal === false) return
    const target = e.target as Node | null
    if (target && !root.contains(target)) {
      (tabbables(root)[0] ?? root).focus()
    }
  }

  function activate() {
    if (trapping) return
    trapping = true
    const root = container.value
    const active = document.activeElement
    activatedFrom = active instanceof HTMLElement && active !== document.body && !root?.contains(active) ? active : null
    if (root) stack.push({ id, el: root })
    // On the container: an inner dialog's handler runs (and stops Esc) before an outer one's.
    listeningOn = root ?? null
    listeningOn?.addEventListener('keydown', onKeydown)
    document.addEventListener('focusin', onFocusIn)
    if (root && !root.contains(document.activeElement)) {
      (options.initialFocus?.() ?? (root.hasAttribute('tabindex') ? root : tabbables(root)[0] ?? root)).focus()
    }
  }

  function deactivate() {
    if (!trapping) return
    trapping = false
    const at = stack.findIndex(t => t.id === id)
    if (at !== -1) stack.splice(at, 1)
    listeningOn?.removeEventListener('keydown', onKeydown)
    listeningOn = null
    document.removeEventListener('focusin', onFocusIn)
  }

  /** Back to the opener, unless the user has already put focus somewhere else (a non-modal panel). */
  function returnFocus(to: HTMLElement | null) {
    const active = document.activeElement
    const root = container.value
    if (active && active !== document.body && !root?.contains(active)) return
    const usable = to?.isConnected && !root?.contains(to) && !to.matches(':disabled')
    const target = usable ? to : options.fallbackFocus?.()
    target?.focus()
  }

  onMounted(() => {
    watch(() => toValue(options.active ?? true), (on) => {
      if (on) return activate()
      // Closed while still mounted (a sheet folding away): focus back to what opened it.
      const was = trapping
      deactivate()
      if (was) returnFocus(activatedFrom)
    }, { immediate: true })
  })
  onBeforeUnmount(() => {
    deactivate()
    returnFocus(opener ?? activatedFrom)
  })

  return { activate, deactivate, isActive: () => trapping }
}
