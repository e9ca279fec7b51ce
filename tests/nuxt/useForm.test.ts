import { afterEach, describe, expect, it } from 'vitest'
import { effectScope } from 'vue'
import { registerInput } from '~~/shared/schemas/auth'
import { useForm, type UseFormOptions } from '~/composables/useForm'
import { useToast } from '~/composables/useToast'

/** What a TRPCClientError carries when task.update's input fails its schema (server/trpc/init.ts errorFormatter). */
function invalidInput(fieldErrors: Record<string, string[]>) {
  return Object.assign(new Error('Invalid input'), { data: { code: 'BAD_REQUEST', httpStatus: 400, fieldErrors } })
}

const scopes: ReturnType<typeof effectScope>[] = []
function start<P, R>(options: UseFormOptions<P, R>) {
  const scope = effectScope()
  scopes.push(scope)
  return scope.run(() => useForm(options))!
}

describe('useForm', () => {
  afterEach(() => {
    scopes.splice(0).forEach(s => s.stop())
    useToast().toasts.value = []
  })

  it('shows a nested server error (patch.title) on the title field, not only in a toast', async () => {
    const form = start({
      fields: ['title', 'description'],
      send: () => Promise.reject(invalidInput({ 'patch.title': ['Required'] })),
      failure: 'Could not save WEB-1',
    })
    expect(await form.submit()).toBe(false)
    expect(form.errors.value).toEqual({ title: 'Required' })
    expect(useToast().toasts.value).toEqual([])
  })

  it('is busy while sending and runs done on success', async () => {
    let finish!: (v: string) => void
    const done: string[] = []
    const form = start({
      fields: ['title'],
      send: () => new Promise<string>((resolve) => { finish = resolve }),
      done: (r) => { done.push(r) },
    })
    const sent = form.submit()
    expect(form.busy.value).toBe(true)
    // A second press while busy sends nothing.
    expect(await form.submit()).toBe(false)
    finish('ok')
    expect(await sent).toBe(true)
    expect(form.busy.value).toBe(false)
    expect(done).toEqual(['ok'])
  })

  it('toasts what no field can show, with the form\'s own words first', async () => {
    const form = start({
      fields: ['title'],
      send: () => Promise.reject(Object.assign(new Error('Project WEB not found'), { data: { code: 'NOT_FOUND' } })),
      failure: () => 'Could not save WEB-1',
    })
    await form.submit()
    expect(form.errors.value).toEqual({})
    expect(useToast().toasts.value.map(t => t.message)).toEqual(['Could not save WEB-1: Project WEB not found'])
  })

  it('without a toast prefix, says it in formError; explain can replace the message or swallow it', async () => {
    let err: Error = Object.assign(new Error(''), { data: { code: 'UNAUTHORIZED' } })
    const form = start({
      fields: ['login'],
      send: () => Promise.reject(err),
      explain: e => ((e as { data: { code: string } }).data.code === 'CONFLICT' ? true : 'Wrong email, username or password.'),
    })
    await form.submit()
    expect(form.formError.value).toBe('Wrong email, username or password.')
    err = Object.assign(new Error('conflict'), { data: { code: 'CONFLICT' } })
    await form.submit()
    expect(form.formError.value).toBe('')
  })

  it('checks the schema before sending and maps its issues to fields', async () => {
    let sent = 0
    const values = { email: 'nope', username: 'ab', name: 'A', password: 'short' }
    const form = start({
      fields: ['email', 'username', 'name', 'password'],
      schema: registerInput,
      values: () => values,
      send: async () => { sent++ },
    })
    expect(await form.submit()).toBe(false)
    expect(sent).toBe(0)
    expect(Object.keys(form.errors.value)).toEqual(expect.arrayContaining(['email', 'password']))
  })

  it('runs its own checks first', async () => {
    const form = start({ fields: ['name'], validate: () => ({ name: 'Give the project a name' }), send: async () => {} })
    expect(await form.submit()).toBe(false)
    expect(form.errors.value).toEqual({ name: 'Give the project a name' })
  })
})
