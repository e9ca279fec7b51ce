import { tryOnScopeDispose, useEventListener } from '@vueuse/core'

/** Time as the idle and typing logic see it; tests pass a clock they move by hand. */
export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** No input for this long makes the tab idle (the user shows away once all their tabs are). */
export const IDLE_AFTER_MS = 5 * 60_000

const INPUT_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'scroll'] as const

/**
 * Whether the user has left this tab: `idle` after `timeoutMs` without input, `hidden` while the
 * page is not visible; `inactive` is either. Input or coming back to the tab clears both at once.
 * Listens while the calling scope (component, effect scope) lives (VueUse's useEventListener).
 * Not VueUse's useIdle: that one runs on the real timers, and presence tests move a `Clock` by hand.
 */
export function useIdle(options: { timeoutMs?: number, clock?: Clock } = {}) {
  const timeoutMs = options.timeoutMs ?? IDLE_AFTER_MS
  const clock = options.clock ?? systemClock
  const idle = ref(false)
  const hidden = ref(false)
  const inactive = computed(() => idle.value || hidden.value)
  if (!import.meta.client) return { idle, hidden, inactive }

  let lastInput = clock.now()
  let timer: unknown = null

  // One timer per quiet period rather than one per event: input only moves `lastInput`, and the
  // timer, when it fires early, waits for the rest.
  function arm(ms: number) {
    timer = clock.setTimeout(check, ms)
  }
  function check() {
    timer = null
    const quiet = clock.now() - lastInput
    if (quiet >= timeoutMs) idle.value = true
    else arm(timeoutMs - quiet)
  }
  function onInput() {
    lastInput = clock.now()
    idle.value = false
    if (timer === null) arm(timeoutMs)
  }
  function onVisibility() {
    hidden.value = document.visibilityState === 'hidden'
    if (!hidden.value) onInput()
  }

  useEventListener(window, [...INPUT_EVENTS], onInput, { passive: true, capture: true })
  useEventListener(document, 'visibilitychange', onVisibility)
  hidden.value = document.visibilityState === 'hidden'
  arm(timeoutMs)
  tryOnScopeDispose(() => {
    if (timer !== null) clock.clearTimeout(timer)
    timer = null
  })
  return { idle, hidden, inactive }
}
