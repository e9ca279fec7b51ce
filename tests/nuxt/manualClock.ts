import type { Clock } from '~/composables/useIdle'

/** A clock the test moves by hand; due timers run in order as it passes them. */
export function manualClock(start = 1_000_000) {
  let time = start
  const timers = new Set<{ at: number, fn: () => void }>()
  const clock: Clock & { advance: (ms: number) => void } = {
    now: () => time,
    setTimeout: (fn, ms) => {
      const timer = { at: time + ms, fn }
      timers.add(timer)
      return timer
    },
    clearTimeout: handle => void timers.delete(handle as { at: number, fn: () => void }),
    advance(ms) {
      const end = time + ms
      for (;;) {
        const due = [...timers].filter(t => t.at <= end).sort((a, b) => a.at - b.at)[0]
        if (!due) break
        timers.delete(due)
        time = due.at
        due.fn()
      }
      time = end
    },
  }
  return clock
}
