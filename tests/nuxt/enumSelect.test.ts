import { mountSuspended } from '@nuxt/test-utils/runtime'
import { describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick, ref } from 'vue'
import AppEnumSelect from '~/components/app/AppEnumSelect.vue'
import { priorityLabels, priorityValues, type Priority } from '~~/shared/schemas/common'

describe('AppEnumSelect', () => {
  it('offers every value under its label, in order, and two-way binds the choice', async () => {
    const value = ref<Priority>('LOW')
    const Host = defineComponent({
      setup: () => () => h(AppEnumSelect, {
        'id': 'p',
        'label': 'Priority',
        'values': priorityValues,
        'labels': priorityLabels,
        'modelValue': value.value,
        // h() does not infer the generic component's value type: the emitted value is a string here.
        'onUpdate:modelValue': (v: string) => (value.value = v as Priority),
      }),
    })
    const w = await mountSuspended(Host)
    expect(w.find('label').text()).toBe('Priority')
    expect(w.find('label').attributes('for')).toBe('p')
    const select = w.find<HTMLSelectElement>('select#p')
    expect(w.findAll('option').map(o => [o.attributes('value'), o.text()])).toEqual(priorityValues.map(p => [p, priorityLabels[p]]))
    expect(select.element.value).toBe('LOW')

    await select.setValue('URGENT')
    expect(value.value).toBe('URGENT')
    value.value = 'HIGH'
    await nextTick()
    expect(select.element.value).toBe('HIGH')
  })

  it('is disabled when told', async () => {
    const w = await mountSuspended(AppEnumSelect, { props: { id: 's', label: 'Status', values: ['A', 'B'] as const, labels: { A: 'Ay', B: 'Bee' }, modelValue: 'A', disabled: true } })
    expect(w.find('select').attributes('disabled')).toBeDefined()
  })
})
