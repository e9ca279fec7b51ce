// When a user's digests are due: everything is decided on the user's local calendar (IANA zone),
// so a period is "the local date it starts on" and daylight-saving changes, missed hours and
// instances with different clocks all agree on it.

export interface LocalTime {
  /** YYYY-MM-DD in the zone */
  date: string
  hour: number
  /** 0 = Sunday … 6 = Saturday */
  weekday: number
}

export type DigestPeriod = 'daily' | 'weekly'

export interface DigestPrefs {
  daily: boolean
  weekly: boolean
  weekday: number
  hour: number
  timeZone: string
}

export interface DuePeriod {
  period: DigestPeriod
  /** the local date the period starts on: the unique key of its DigestRun with the user and period */
  periodStart: string
}

export const defaultDigestPrefs: Omit<DigestPrefs, 'timeZone'> = { daily: true, weekly: false, weekday: 1, hour: 8 }

const formatters = new Map<string, Intl.DateTimeFormat>()
const weekdays: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 }

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23', weekday: 'short' })
    formatters.set(timeZone, f)
  }
  return f
}

/** The wall-clock date, hour and weekday at `at` in `timeZone` (UTC when the zone is unknown). */
export function localTime(at: Date, timeZone: string): LocalTime {
  let f: Intl.DateTimeFormat
  try {
    f = formatter(timeZone)
  }
  catch {
    f = formatter('UTC')
  }
  const parts = Object.fromEntries(f.formatToParts(at).map(p => [p.type, p.value]))
  return { date: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour), weekday: weekdays[parts.weekday!] ?? 0 }
}

/**
 * The digests due at `now`: the daily one once the local hour has reached the chosen hour (so a
 * missed run is caught up later that day), the weekly one likewise on the chosen weekday. Whether it
 * was already sent is the DigestRun table's business, not this function's.
 */
export function duePeriods(now: Date, prefs: DigestPrefs): DuePeriod[] {
  const local = localTime(now, prefs.timeZone)
  if (local.hour < prefs.hour) return []
  const due: DuePeriod[] = []
  if (prefs.daily) due.push({ period: 'daily', periodStart: local.date })
  if (prefs.weekly && local.weekday === prefs.weekday) due.push({ period: 'weekly', periodStart: local.date })
  return due
}

/** `date` (YYYY-MM-DD) plus `days`, as YYYY-MM-DD. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/** How far back a digest looks for "what moved". */
export function periodWindowMs(period: DigestPeriod): number {
  return period === 'daily' ? 24 * 3_600_000 : 7 * 24 * 3_600_000
}
