import type { Priority, TaskStatus } from '~~/shared/schemas/common'

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  const letters = parts.length > 1 ? parts[0]![0]! + parts[parts.length - 1]![0]! : (parts[0] ?? '?').slice(0, 2)
  return letters.toUpperCase()
}

/** Due dates are calendar days stored as UTC midnight. */
export function toDateInput(date: Date | string | null | undefined): string {
  if (!date) return ''
  return new Date(date).toISOString().slice(0, 10)
}

export function fromDateInput(value: string): Date | null {
  return value ? new Date(`${value}T00:00:00.000Z`) : null
}

export function todayInput(now = new Date()): string {
  const y = now.getFullYear()
  const m = String(now.getMonth() + 1).padStart(2, '0')
  const d = String(now.getDate()).padStart(2, '0')
  return `${y}-${m}-${d}`
}

export function isOverdue(due: Date | string | null | undefined, status: TaskStatus, now = new Date()): boolean {
  return !!due && status !== 'DONE' && toDateInput(due) < todayInput(now)
}

export function formatDay(date: Date | string): string {
  return new Date(date).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })
}

export function formatDateTime(date: Date | string): string {
  return new Date(date).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

export function parseLabels(value: string): string[] {
  return [...new Set(value.split(',').map(l => l.trim()).filter(Boolean))]
}

export const priorityIcons: Record<Priority, string> = {
  NONE: '',
  LOW: '▂',
  MEDIUM: '▃▅',
  HIGH: '▃▅▇',
  URGENT: '!',
}

/** Only same-site paths: `//host` or `/\host` would leave the app. */
export function safeRedirect(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/'
}

/** 24-hour "10:42" in the browser's time zone (the offline badge's "last synced"). */
export function formatClock(at: number | Date): string {
  const date = new Date(at)
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`
}
