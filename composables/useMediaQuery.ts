import { useMounted, useMediaQuery as useMediaQueryLive } from '@vueuse/core'

/**
 * Whether a CSS media query matches, kept up to date (VueUse's listener, removed with the caller);
 * false on the server and until mount, so the first client render hydrates what SSR rendered.
 */
export function useMediaQuery(query: string) {
  const mounted = useMounted()
  const matches = useMediaQueryLive(query)
  return computed(() => mounted.value && matches.value)
}
