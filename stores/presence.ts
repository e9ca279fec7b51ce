import type { PresenceMessage, PresenceState } from '~~/server/presence/hub'
import type { PresenceStatus, TypingField } from '~~/server/presence/store'

export type { PresenceMessage, PresenceState, PresenceStatus, TypingField }

/** Who came online and who went offline with one message (a snapshot reports nobody: it is a resync). */
export interface PresenceChange {
  joined: PresenceState[]
  left: PresenceState[]
}

const byOnlineSince = (a: PresenceState, b: PresenceState) =>
  new Date(a.onlineSince).getTime() - new Date(b.onlineSince).getTime() || a.name.localeCompare(b.name)

/**
 * Who is online in each project this tab watches (`presence.onProject`), and when offline members
 * were last seen. Ephemeral: a new snapshot (after a reconnect) replaces a project's state.
 */
export const usePresenceStore = defineStore('presence', () => {
  /** projectId → userId → state, online members only */
  const online = ref<Record<string, Record<string, PresenceState>>>({})
  /** userId → when their last connection ended, as the stream told this tab */
  const lastSeen = ref<Record<string, Date>>({})
  /** the project whose presence the open page shows */
  const currentProjectId = ref<string | null>(null)
  /** the signed-in user's chosen status (all tabs); null until known */
  const myStatus = ref<PresenceStatus | null>(null)

  const members = computed(() => membersOf(currentProjectId.value))

  function membersOf(projectId: string | null): PresenceState[] {
    if (!projectId) return []
    return Object.values(online.value[projectId] ?? {}).sort(byOnlineSince)
  }

  function stateOf(userId: string, projectId = currentProjectId.value): PresenceState | undefined {
    return projectId ? online.value[projectId]?.[userId] : undefined
  }

  /** Online members with the task open, in the order they came online. */
  function viewersOf(taskId: string, exceptUserId: string | null = null): PresenceState[] {
    return members.value.filter(m => m.userId !== exceptUserId && m.taskIds.includes(taskId))
  }

  function typingIn(taskId: string, field: TypingField, exceptUserId: string | null = null): PresenceState[] {
    return members.value.filter(m => m.userId !== exceptUserId && m.typing.some(t => t.taskId === taskId && t.field === field))
  }

  /** Applies one message of `presence.onProject`; tells what changed for toasts. */
  function apply(projectId: string, message: PresenceMessage): PresenceChange {
    if (message.kind === 'snapshot') {
      online.value[projectId] = Object.fromEntries(message.members.map(m => [m.userId, m]))
      return { joined: [], left: [] }
    }
    const states = new Map(Object.entries(online.value[projectId] ?? {}))
    const change: PresenceChange = { joined: [], left: [] }
    for (const { userId, lastSeenAt } of message.offline) {
      const before = states.get(userId)
      if (before) change.left.push(before)
      states.delete(userId)
      lastSeen.value[userId] = new Date(lastSeenAt)
    }
    for (const state of message.upsert) {
      if (!states.has(state.userId)) change.joined.push(state)
      states.set(state.userId, state)
    }
    online.value[projectId] = Object.fromEntries(states)
    return change
  }

  function open(projectId: string) {
    currentProjectId.value = projectId
  }

  /** The stream ended (page left): what it said is no longer kept up to date. */
  function forget(projectId: string) {
    const { [projectId]: _, ...rest } = online.value
    online.value = rest
    if (currentProjectId.value === projectId) currentProjectId.value = null
  }

  function setMyStatus(status: PresenceStatus | null) {
    myStatus.value = status
  }

  return { online, lastSeen, currentProjectId, myStatus, members, membersOf, stateOf, viewersOf, typingIn, apply, open, forget, setMyStatus }
})

export const presenceStatusLabels: Record<PresenceStatus, string> = {
  available: 'Available',
  away: 'Away',
  dnd: 'Do not disturb',
}

/** How an avatar names its person: "Ana — online, viewing WEB-12". */
export function describePresence(state: PresenceState, taskRef: (taskId: string) => string | undefined): string {
  const status = state.status === 'available' ? 'online' : state.status === 'away' ? 'away' : 'online, do not disturb'
  const parts = [status]
  const viewing = state.taskIds.map(taskRef).filter((r): r is string => !!r)
  if (viewing.length) parts.push(`viewing ${joinNames(viewing)}`)
  const typing = [...new Set(state.typing.map(t => taskRef(t.taskId)).filter((r): r is string => !!r))]
  if (typing.length) parts.push(`typing in ${joinNames(typing)}`)
  return `${state.name} — ${parts.join(', ')}`
}

/** "Ana", "Ana and Ben", "Ana, Ben and Cy". */
export function joinNames(names: string[]): string {
  if (names.length <= 1) return names[0] ?? ''
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
}

/** "Ana is typing…", "Ana and Ben are typing…", "Ana, Ben and 2 others are typing…". */
export function typingText(names: string[]): string {
  if (!names.length) return ''
  if (names.length === 1) return `${names[0]} is typing…`
  if (names.length <= 3) return `${joinNames(names)} are typing…`
  return `${names.slice(0, 2).join(', ')} and ${names.length - 2} others are typing…`
}

/** "last seen just now", "last seen 5 min ago", "last seen 3 h ago", "last seen 2 days ago". */
export function lastSeenText(date: Date | string, now: number): string {
  const s = Math.max(0, Math.round((now - new Date(date).getTime()) / 1000))
  const min = Math.floor(s / 60)
  const h = Math.floor(min / 60)
  const d = Math.floor(h / 24)
  if (s < 60) return 'last seen just now'
  if (min < 60) return `last seen ${min} min ago`
  if (h < 24) return `last seen ${h} h ago`
  if (d === 1) return 'last seen yesterday'
  if (d < 30) return `last seen ${d} days ago`
  return `last seen on ${new Date(date).toLocaleDateString(undefined, { dateStyle: 'medium' })}`
}
