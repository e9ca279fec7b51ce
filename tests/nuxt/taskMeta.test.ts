import { mountSuspended } from '@nuxt/test-utils/runtime'
import { describe, expect, it } from 'vitest'
import { h } from 'vue'
import TaskMeta from '~/components/task/TaskMeta.vue'
import { formatDay } from '~/utils/format'

const task = { projectId: 'p1', labels: ['bug', 'ui'], dueDate: new Date('2026-03-05T00:00:00Z') }

describe('TaskMeta', () => {
  it('shows the labels and the due date, with the slots before and after', async () => {
    const w = await mountSuspended(TaskMeta, {
      props: { task, overdue: false },
      slots: { before: () => h('span', { class: 'first' }, 'In progress'), default: () => h('span', { class: 'last' }, 'Website') },
    })
    const text = w.text()
    expect(text).toContain('bug')
    expect(text).toContain('ui')
    expect(w.find('.due').text().replace(/\s+/g, ' ')).toBe(`Due ${formatDay(task.dueDate)}`)
    expect(w.find('.due').classes()).not.toContain('overdue')
    // The slots keep their places: before the labels, after the date.
    const children = [...w.element.children].map(el => el.className)
    expect(children[0]).toBe('first')
    expect(children.at(-1)).toBe('last')
  })

  it('says "Overdue" to screen readers and marks the date when overdue; no date, no due line', async () => {
    const late = await mountSuspended(TaskMeta, { props: { task, overdue: true } })
    expect(late.find('.due').classes()).toContain('overdue')
    expect(late.find('.due .sr-only').text()).toBe('Overdue, due')
    const none = await mountSuspended(TaskMeta, { props: { task: { ...task, dueDate: null, labels: [] }, overdue: false } })
    expect(none.find('.due').exists()).toBe(false)
    expect(none.text()).toBe('')
  })
})
