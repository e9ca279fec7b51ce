import { describe, expect, it } from 'vitest'
import { taskUpdateInput } from '../../shared/schemas/task'
import { errorMessage, issueErrors, mapFieldErrors } from '../../utils/errors'

const taskFields = ['title', 'description', 'status', 'priority', 'assigneeId', 'dueDate', 'labels']

describe('mapFieldErrors', () => {
  it('puts a nested server path on the form field it ends with', () => {
    expect(mapFieldErrors({ 'patch.title': 'Required' }, taskFields)).toEqual({ fields: { title: 'Required' }, unmatched: {} })
    expect(mapFieldErrors({ 'input.patch.title': 'Required' }, taskFields).fields).toEqual({ title: 'Required' })
  })

  it('keeps top-level fields as they are', () => {
    expect(mapFieldErrors({ name: 'Give it a name', key: 'Taken' }, ['name', 'key']).fields).toEqual({ name: 'Give it a name', key: 'Taken' })
  })

  it('prefers the longest tail that is a field (dotted field names)', () => {
    const mapped = mapFieldErrors({ 'input.address.city': 'Unknown city' }, ['city', 'address.city'])
    expect(mapped.fields).toEqual({ 'address.city': 'Unknown city' })
  })

  it('points array indices at the list field', () => {
    expect(mapFieldErrors({ 'patch.labels.3': 'Labels are at most 32 characters' }, taskFields).fields)
      .toEqual({ labels: 'Labels are at most 32 characters' })
  })

  it('keeps what no field takes, so it can still be shown', () => {
    const mapped = mapFieldErrors({ 'patch.title': 'Required', 'baseVersion': 'Too small' }, taskFields)
    expect(mapped).toEqual({ fields: { title: 'Required' }, unmatched: { baseVersion: 'Too small' } })
  })

  it('keeps the first message when two paths land on one field', () => {
    expect(mapFieldErrors({ 'patch.title': 'Required', 'title': 'Other' }, taskFields).fields).toEqual({ title: 'Required' })
  })

  it('maps a real task.update parse of an empty title to the title field', () => {
    const parsed = taskUpdateInput.safeParse({ id: 'c'.repeat(25), baseVersion: 1, patch: { title: '   ' } })
    expect(parsed.success).toBe(false)
    const byPath = issueErrors(parsed.error!.issues)
    expect(byPath).toHaveProperty(['patch.title'])
    expect(mapFieldErrors(byPath, taskFields).fields.title).toBe('Required')
  })
})

describe('errorMessage of invalid input', () => {
  it('names the fields instead of only "Some fields need attention"', () => {
    const err = Object.assign(new Error('Invalid input'), { data: { code: 'BAD_REQUEST', fieldErrors: { 'patch.title': ['Required'] } } })
    expect(errorMessage(err)).toBe('Some fields need attention (title: Required).')
  })
})
