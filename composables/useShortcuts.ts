/**
 * Keyboard shortcuts: one document listener, shortcuts registered by the components that own them
 * (while mounted), listed in the `?` overlay. Keys are written like `c`, `?`, `Enter`, `ArrowDown`,
 * `mod+k` (Ctrl, or ⌘ on a Mac), `shift+mod+z`, and sequences `g b` (the second key within a second).
 * Single keys never fire while typing in an input, textarea, select or contenteditable, nor while a
 * modal dialog is open (unless `global`).
 */
export interface Shortcut {
  keys: string
  /** What the `?` overlay says it does. */
  description: string
  /** The overlay's heading it is listed under. */
  group: string
  run: (event: KeyboardEvent) => unknown
  /** Fires in inputs and over dialogs too (Ctrl/⌘+K). */
  global?: boolean
  /** Listed only, handled elsewhere (Esc in a dialog). */
  listOnly?: boolean
}

const SEQUENCE_MS = 1000

/** Where typing goes: keys there are text, not shortcuts. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || !(target as Element).closest) return false
  const el = target as HTMLElement
  if (el.isContentEditable) return true
  return !!el.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]')
}

/** A control that handles Enter, arrows and Esc itself. */
function isControlTarget(target: EventTarget | null): boolean {
  return !!(target as Element | null)?.closest?.('button, a[href], [role="menu"], [role="menuitem"], [role="option"], [role="tab"], [role="listbox"], summary, [role="dialog"]')
}

/** The key of an event as shortcuts write it: `shift+` only for letters (`?` is already shifted), `mod+` for Ctrl/⌘. */
export function keyOf(event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): string | null {
  if (event.altKey || ['Shift', 'Control', 'Meta', 'Alt', 'CapsLock'].includes(event.key)) return null
  const letter = /^[a-z]$/i.test(event.key)
  let key = letter ? event.key.toLowerCase() : event.key
  if (event.ctrlKey || event.metaKey) key = `mod+${key}`
  if (event.shiftKey && letter) key = `shift+${key}`
  return key
}

/** The keys as the overlay shows them (⌘ on a Mac, Ctrl elsewhere). */
export function keyLabel(keys: string, mac = import.meta.client && /Mac|iPhone|iPad/.test(navigator.platform)): string[] {
  return keys.split(' ').map(part => part
    .replace('shift+', mac ? '⇧' : 'Shift+')
    .replace('mod+', mac ? '⌘' : 'Ctrl+')
    .replace(/\+([a-z])$/, (_, c: string) => `+${c.toUpperCase()}`)
    .replace(/^([⌘⇧]+)([a-z])$/, (_, m: string, c: string) => `${m}${c.toUpperCase()}`)
    .replace('ArrowDown', '↓').replace('ArrowUp', '↑').replace('ArrowLeft', '←').replace('ArrowRight', '→'))
}

interface Registered { id: number, shortcuts: Shortcut[] }
let nextId = 1
let pending: { key: string, at: number } | null = null
let removeListener: (() => void) | null = null

function registry() {
  return useState<Registered[]>('shortcuts', () => [])
}

/** Every registered shortcut, latest registration first (a page's `Enter` wins over the layout's). */
export function useShortcutList() {
  const list = registry()
  return computed(() => [...list.value].reverse().flatMap(r => r.shortcuts))
}

function modalOpen(): boolean {
  return !!document.querySelector('[aria-modal="true"]')
}

function onKeydown(event: KeyboardEvent, all: Shortcut[]) {
  if (event.defaultPrevented || event.isComposing) return
  const key = keyOf(event)
  if (!key) return
  // Enter, arrows, Delete and Esc belong to a focused control (a button, a link, a menu) first.
  const onControl = /^(?:Enter|Escape|Delete|Backspace|ArrowUp|ArrowDown|ArrowLeft|ArrowRight| )$/.test(key) && isControlTarget(event.target)
  const typing = isTypingTarget(event.target) || onControl
  const blocked = typing || modalOpen()
  const now = Date.now()
  const sequence = pending && now - pending.at < SEQUENCE_MS ? `${pending.key} ${key}` : null
  const candidates = all.filter(s => !s.listOnly && (s.global || !blocked))
  const match = (sequence ? candidates.find(s => s.keys === sequence) : undefined) ?? candidates.find(s => s.keys === key)
  pending = null
  if (match) {
    event.preventDefault()
    void match.run(event)
    return
  }
  // The first key of a sequence (`g`): wait for the second.
  if (!blocked && candidates.some(s => s.keys.startsWith(`${key} `))) {
    pending = { key, at: now }
    event.preventDefault()
  }
}

/** Registers shortcuts while the calling component is mounted. */
export function useShortcuts(shortcuts: Shortcut[] | (() => Shortcut[])) {
  const list = registry()
  const id = nextId++
  onMounted(() => {
    list.value = [...list.value, { id, shortcuts: typeof shortcuts === 'function' ? shortcuts() : shortcuts }]
    // One listener while any shortcut is registered. The registry's ref lives as long as the app
    // (useState), unlike a computed of this component; the listener is not tied to this component.
    if (!removeListener) {
      const listener = (event: KeyboardEvent) => onKeydown(event, [...list.value].reverse().flatMap(r => r.shortcuts))
      document.addEventListener('keydown', listener)
      removeListener = () => document.removeEventListener('keydown', listener)
    }
  })
  onBeforeUnmount(() => {
    list.value = list.value.filter(r => r.id !== id)
    if (!list.value.length) {
      removeListener?.()
      removeListener = null
    }
  })
}
