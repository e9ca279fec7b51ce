import type { ListQuery } from '~/utils/listQuery'

/** Typing in the search box waits for a pause before it reaches the URL (and the server). */
const SEARCH_PAUSE_MS = 250

/**
 * The list view's filters, search and sort, kept in the URL. `form` is what the controls edit;
 * `applied` is what the URL says (what the list loads). A filter or sort change is a new history
 * entry (the back button undoes it); search typing replaces the current one after a pause.
 */
export function useListQuery() {
  const route = useRoute()
  const router = useRouter()
  const applied = computed(() => parseListQuery(route.query))
  const form = ref<ListQuery>(parseListQuery(route.query))

  // Back/forward, or a link: the controls follow the URL.
  watch(applied, (next) => {
    if (!sameListQuery(next, form.value)) form.value = next
  })

  let timer: ReturnType<typeof setTimeout> | undefined
  watch(form, (next) => {
    clearTimeout(timer)
    const current = applied.value
    if (sameListQuery(next, current)) return
    const onlySearch = sameListQuery({ ...next, search: current.search }, current)
    if (!onlySearch) {
      void router.push({ query: withListQuery(route.query, next) })
      return
    }
    timer = setTimeout(() => void router.replace({ query: withListQuery(route.query, form.value) }), SEARCH_PAUSE_MS)
  }, { deep: true })
  onScopeDispose(() => clearTimeout(timer))

  function clear() {
    form.value = { ...emptyListQuery(), sort: form.value.sort }
  }

  return { form, applied, clear }
}
