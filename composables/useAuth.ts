import type { RouterInputs } from '~/utils/api'

/** Sign-in state I/O; the user lives in the auth store so SSR hands it to the client. */
export function useAuth() {
  const { $trpc } = useNuxtApp()
  const store = useAuthStore()

  async function refresh() {
    store.setUser(await $trpc.auth.me.query())
    return store.user
  }

  /** Nothing cached for offline use, nor drafts, of whoever used this browser before stays for the next user. */
  async function forgetOfflineData(keepDraftsOf?: string) {
    useRealtimeStore().forgetSync()
    forgetDrafts(keepDraftsOf)
    await clearOfflineCaches()
  }

  async function login(input: RouterInputs['auth']['login']) {
    const user = await $trpc.auth.login.mutate(input)
    await forgetOfflineData(user.id)
    store.setUser(user)
    await sendBrowserTimeZone()
  }

  async function register(input: RouterInputs['auth']['register']) {
    const user = await $trpc.auth.register.mutate(input)
    await forgetOfflineData()
    store.setUser(user)
    await sendBrowserTimeZone()
  }

  async function logout() {
    try {
      // The next person on this device must not get this user's pushes.
      await forgetPushOnThisDevice()
      await $trpc.auth.logout.mutate()
    }
    finally {
      store.clear()
      await forgetOfflineData()
      // A fresh app: no project, board or token state of the previous user survives.
      await reloadNuxtApp({ path: '/login', force: true })
    }
  }

  /** New password: every other session and socket of the account ends; this tab stays signed in. */
  async function changePassword(input: RouterInputs['auth']['changePassword']) {
    await $trpc.auth.changePassword.mutate(input)
  }

  return { user: computed(() => store.user), refresh, login, register, logout, changePassword }
}
