export type ThemeChoice = 'system' | 'light' | 'dark'

/** Light/dark follows the OS unless the user picks one; a cookie lets SSR render the right theme. */
export function useTheme() {
  const cookie = useCookie<ThemeChoice>('theme', { default: () => 'system', maxAge: 60 * 60 * 24 * 365, sameSite: 'lax' })
  const choice = computed({
    get: () => (['light', 'dark'].includes(cookie.value) ? cookie.value : 'system') as ThemeChoice,
    set: (value: ThemeChoice) => { cookie.value = value },
  })
  function cycle() {
    choice.value = choice.value === 'system' ? 'dark' : choice.value === 'dark' ? 'light' : 'system'
  }
  return { choice, cycle }
}
