import type { Me } from '~/utils/api'

export const useAuthStore = defineStore('auth', () => {
  const user = ref<Me | null>(null)
  /** true once auth.me answered in this app (SSR or client): the middleware asks only once */
  const loaded = ref(false)

  const isSignedIn = computed(() => user.value !== null)

  function setUser(next: Me | null) {
    user.value = next
    loaded.value = true
  }

  function clear() {
    user.value = null
    loaded.value = true
  }

  return { user, loaded, isSignedIn, setUser, clear }
})
