// The auth store and useAuth against the real router (tests/factories/realRouter.ts).
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { useAuth } from '~/composables/useAuth'
import { taskDraftKey } from '~/utils/taskDrafts'
import { useAuthStore } from '~/stores/auth'
import { signUp, TEST_PASSWORD } from '../factories'
import { serveRealRouter, type RealServer } from '../factories/realRouter'

let server: RealServer
beforeAll(async () => {
  server = await serveRealRouter()
})
afterAll(() => server.close())

const ana = { id: 'u1', email: 'ana@example.com', username: 'ana', name: 'Ana Lima', status: 'AVAILABLE' as const, timezone: 'UTC' }

describe('auth store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('starts unknown, then knows who is signed in, then forgets on sign-out', () => {
    const auth = useAuthStore()
    expect(auth.loaded).toBe(false)
    expect(auth.isSignedIn).toBe(false)
    auth.setUser(ana)
    expect(auth.loaded).toBe(true)
    expect(auth.isSignedIn).toBe(true)
    expect(auth.user?.username).toBe('ana')
    auth.clear()
    expect(auth.isSignedIn).toBe(false)
    expect(auth.loaded).toBe(true)
  })

  it('a wrong password keeps the visitor signed out and surfaces the server code; so does the limit after five', async () => {
    server.useSession(null)
    const auth = useAuthStore()
    const attempt = () => useAuth().login({ login: server.me.user.username, password: 'wrong password' }).catch((e: unknown) => e)
    const first = await attempt()
    expect(errorCode(first)).toBe('UNAUTHORIZED')
    expect(errorMessage(first)).toContain('Wrong email, username or password')
    for (let i = 1; i < 5; i++) expect(errorCode(await attempt())).toBe('UNAUTHORIZED')
    const limited = await attempt()
    expect(errorCode(limited)).toBe('TOO_MANY_REQUESTS')
    expect(errorMessage(limited)).toContain('Too many')
    expect(auth.isSignedIn).toBe(false)
    expect(server.sessionToken()).toBeUndefined()
  })

  it('refresh loads the current user from auth.me', async () => {
    server.useSession(server.me.jar)
    const auth = useAuthStore()
    await useAuth().refresh()
    expect(auth.user).toMatchObject({ id: server.me.user.id, username: server.me.user.username, name: server.me.user.name })
    expect(auth.loaded).toBe(true)
  })

  it('signing in keeps only the new user\'s drafts on this browser: the previous user\'s unsaved text goes', async () => {
    const newcomer = await signUp(server.db, { password: TEST_PASSWORD })
    server.useSession(null)
    localStorage.setItem(taskDraftKey(newcomer.user.id, 't1'), JSON.stringify({ fields: { title: 'Ana\'s unsaved title' }, at: 1 }))
    localStorage.setItem(taskDraftKey(server.me.user.id, 't1'), JSON.stringify({ fields: { title: 'Ben\'s unsaved title' }, at: 1 }))
    localStorage.setItem('tasktracker:theme', 'dark')
    await useAuth().login({ login: newcomer.user.username, password: TEST_PASSWORD })
    expect(useAuthStore().user?.id).toBe(newcomer.user.id)
    // the server's Set-Cookie signed this tab in
    expect(server.sessionToken()).toMatch(/\S{20,}/)
    expect(localStorage.getItem(taskDraftKey(newcomer.user.id, 't1'))).toContain('Ana')
    expect(localStorage.getItem(taskDraftKey(server.me.user.id, 't1'))).toBeNull()
    expect(localStorage.getItem('tasktracker:theme')).toBe('dark')
  })
})
