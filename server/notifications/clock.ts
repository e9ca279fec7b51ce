import { useServices } from '../container'

/** The notifier's clock: coalescing windows and the per-user cap read it, so tests can move time. */
export type Clock = () => Date

export const systemClock: Clock = () => new Date()

/** Now, by the installed services' clock (server/container.ts; tests install a fixed one). */
export function notificationNow(): Date {
  return useServices().clock()
}
