import { registerEndpoint } from '@nuxt/test-utils/runtime'
import { createPinia, setActivePinia } from 'pinia'
import superjson from 'superjson'
import { beforeEach, describe, expect, it } from 'vitest'
import { useAuth } from '~/composables/useAuth'
import { taskDraftKey } from '~/utils/taskDrafts'
import { useAuthStore } from '~/stores/auth'

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

  it('a failed sign-in keeps the visitor signed out and surfaces the server code', async () => {
    registerEndpoint('/api/trpc/auth.login', {
      method: 'POST',
      handler: () => [{ error: superjson.serialize({ message: 'Too many sign-in attempts for this account. Try again in 30 s.', code: -32029, data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } }) }],
    })
    const auth = useAuthStore()
    const error = await useAuth().login({ login: 'ana', password: 'wrong' }).catch((e: unknown) => e)
    expect(errorCode(error)).toBe('TOO_MANY_REQUESTS')
    expect(errorMessage(error)).toContain('Too many sign-in attempts')
    expect(auth.isSignedIn).toBe(false)
  })

  it('refresh loads the current user from auth.me', async () => {
    registerEndpoint('/api/trpc/auth.me', { method: 'GET', handler: () => [{ result: { data: superjson.serialize(ana) } }] })
    const auth = useAuthStore()
    await useAuth().refresh()
    expect(auth.user).toEqual(ana)
    expect(auth.loaded).toBe(true)
  })

  it('signing in keeps only the new user\'s drafts on this browser: the previous user\'s unsaved text goes', async () => {
    registerEndpoint('/api/trpc/auth.login', { method: 'POST', handler: () => [{ result: { data: superjson.serialize(ana) } }] })
    registerEndpoint('/api/trpc/notification.digest.detectTimeZone', { method: 'POST', handler: () => [{ result: { data: superjson.serialize(null) } }] })
    localStorage.setItem(taskDraftKey('u1', 't1'), JSON.stringify({ fields: { title: 'Ana\'s unsaved title' }, at: 1 }))
    localStorage.setItem(taskDraftKey('u2', 't1'), JSON.stringify({ fields: { title: 'Ben\'s unsaved title' }, at: 1 }))
    localStorage.setItem('tasktracker:theme', 'dark')
    await useAuth().login({ login: 'ana', password: 'correct horse battery' })
    expect(localStorage.getItem(taskDraftKey('u1', 't1'))).toContain('Ana')
    expect(localStorage.getItem(taskDraftKey('u2', 't1'))).toBeNull()
    expect(localStorage.getItem('tasktracker:theme')).toBe('dark')
  })
})
