import { useEventListener } from '@vueuse/core'

/**
 * Asks before the page is left or reloaded while `dirty`: the browser's own prompt on unload, and
 * `confirm` on an in-app navigation away from the current page (closing the task panel stays on
 * it: the draft keeps the edits).
 */
export function useLeaveGuard(dirty: () => boolean, message: () => string) {
  // On the window (VueUse's default target, none on the server) until the component unmounts.
  useEventListener('beforeunload', (e: BeforeUnloadEvent) => {
    if (!dirty()) return
    e.preventDefault()
    // Older browsers show the prompt only when returnValue is set.
    e.returnValue = ''
  })
  onBeforeRouteLeave(() => (dirty() ? window.confirm(message()) : true))
}
