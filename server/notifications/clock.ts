/** The notifier's clock: coalescing windows and the per-user cap read it, so tests can move time. */
export type Clock = () => Date

const systemClock: Clock = () => new Date()
let clock: Clock = systemClock

export function notificationNow(): Date {
  return clock()
}

/** Replaces the clock (tests); `null` restores the system clock. Returns the previous one. */
export function setNotificationClock(next: Clock | null): Clock {
  const previous = clock
  clock = next ?? systemClock
  return previous
}
