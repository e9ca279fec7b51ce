/** Whether a CSS media query matches, kept up to date; false on the server and before mount. */
export function useMediaQuery(query: string) {
  const matches = ref(false)
  let list: MediaQueryList | null = null
  const update = () => {
    matches.value = !!list?.matches
  }
  onMounted(() => {
    list = window.matchMedia(query)
    update()
    list.addEventListener('change', update)
  })
  onBeforeUnmount(() => list?.removeEventListener('change', update))
  return readonly(matches)
}
