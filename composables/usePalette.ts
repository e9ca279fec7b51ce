export type PaletteMode = 'search' | 'create'

/** Whether the command palette (Ctrl/⌘+K) and the shortcuts overlay (`?`) are open. */
export function usePalette() {
  const state = useState('palette', () => ({ open: false, mode: 'search' as PaletteMode, help: false }))
  return {
    state,
    show: (mode: PaletteMode = 'search') => {
      state.value = { ...state.value, open: true, mode, help: false }
    },
    hide: () => {
      state.value = { ...state.value, open: false }
    },
    showHelp: () => {
      state.value = { ...state.value, open: false, help: true }
    },
    hideHelp: () => {
      state.value = { ...state.value, help: false }
    },
  }
}

const RECENT_KEY = 'tt:palette-recent'
const RECENT_MAX = 20

/** Ids of palette items chosen lately, latest first (kept in this browser). */
export function readRecent(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]')
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
  }
  catch {
    return []
  }
}

export function rememberRecent(id: string) {
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify([id, ...readRecent().filter(r => r !== id)].slice(0, RECENT_MAX)))
  }
  catch {
    // Storage disabled: no recent items, nothing else lost.
  }
}
