import type { PresenceEntry, PresenceStatus, TypingField } from './store'

/** A member who is online in a project, aggregated over all their connections on all instances. */
export interface PresenceState {
  userId: string
  username: string
  name: string
  status: PresenceStatus
  /** tasks open in any of their tabs */
  taskIds: string[]
  typing: { taskId: string, field: TypingField }[]
  onlineSince: Date
}

export type PresenceMessage
  = | { kind: 'snapshot', members: PresenceState[] }
    | { kind: 'patch', upsert: PresenceState[], offline: { userId: string, lastSeenAt: Date }[] }

/** One user's presence from their entries: chosen DND or away win; otherwise away only when every tab is idle. */
export function aggregate(entries: PresenceEntry[], now: number): Map<string, PresenceState> {
  const byUser = new Map<string, PresenceEntry[]>()
  for (const entry of entries) {
    const list = byUser.get(entry.userId)
    if (list) list.push(entry)
    else byUser.set(entry.userId, [entry])
  }
  const states = new Map<string, PresenceState>()
  for (const [userId, list] of byUser) {
    const first = list[0]!
    const chosen = list.some(e => e.status === 'dnd') ? 'dnd' : list.some(e => e.status === 'away') ? 'away' : 'available'
    const status: PresenceStatus = chosen !== 'available' ? chosen : list.every(e => e.idle) ? 'away' : 'available'
    const taskIds = [...new Set(list.map(e => e.taskId).filter((t): t is string => t !== null))].sort()
    const typingKeys = new Set<string>()
    const typing: PresenceState['typing'] = []
    for (const e of list) {
      if (!e.typing || e.typing.until <= now) continue
      const k = `${e.typing.taskId}:${e.typing.field}`
      if (typingKeys.has(k)) continue
      typingKeys.add(k)
      typing.push({ taskId: e.typing.taskId, field: e.typing.field })
    }
    typing.sort((a, b) => `${a.taskId}:${a.field}`.localeCompare(`${b.taskId}:${b.field}`))
    states.set(userId, {
      userId,
      username: first.username,
      name: first.name,
      status,
      taskIds,
      typing,
      onlineSince: new Date(Math.min(...list.map(e => e.onlineSince))),
    })
  }
  return states
}

export const same = (a: PresenceState, b: PresenceState) =>
  a.status === b.status && a.name === b.name
  && a.taskIds.join() === b.taskIds.join()
  && a.typing.map(t => `${t.taskId}:${t.field}`).join() === b.typing.map(t => `${t.taskId}:${t.field}`).join()
