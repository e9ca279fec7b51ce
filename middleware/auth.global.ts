const guestOnly = new Set(['/login', '/register'])

export default defineNuxtRouteMiddleware(async (to) => {
  const auth = useAuthStore()
  if (!auth.loaded) await useAuth().refresh()
  // Pages reached from an email link without signing in (the unsubscribe page).
  if (to.meta.public) return
  if (guestOnly.has(to.path)) {
    if (auth.user) return navigateTo(safeRedirect(to.query.redirect))
    return
  }
  if (!auth.user) return navigateTo({ path: '/login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } })
})
