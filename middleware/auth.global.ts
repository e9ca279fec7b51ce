const guestOnly = new Set(['/login', '/register'])

export default defineNuxtRouteMiddleware(async (to) => {
  const auth = useAuthStore()
  if (!auth.loaded) await useAuth().refresh()
  if (guestOnly.has(to.path)) {
    if (auth.user) return navigateTo(safeRedirect(to.query.redirect))
    return
  }
  if (!auth.user) return navigateTo({ path: '/login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } })
})
