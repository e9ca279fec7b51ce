import { mountSuspended } from '@nuxt/test-utils/runtime'
import type { VueWrapper } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick, ref } from 'vue'
import AppDialog from '~/components/app/AppDialog.vue'

const byId = (id: string) => document.getElementById(id)!
const key = (k: string, shiftKey = false) => document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: k, shiftKey, bubbles: true, cancelable: true }))

/** A page with an opener; the outer dialog holds two buttons and, when `inner` is open, a nested dialog. */
function page() {
  const outer = ref(false)
  const inner = ref(false)
  const Page = defineComponent({
    setup: () => () => h('div', [
      h('button', { id: 'opener' }, 'Open'),
      outer.value
        ? h(AppDialog, { 'aria-label': 'Outer', 'onClose': () => (outer.value = false) }, () => [
            h('button', { id: 'outer-first', onClick: () => (inner.value = true) }, 'Open inner'),
            h('button', { id: 'outer-last' }, 'Last'),
            inner.value ? h(AppDialog, { 'aria-label': 'Inner', 'onClose': () => (inner.value = false) }, () => [h('button', { id: 'inner-only' }, 'Only')]) : null,
          ])
        : null,
    ]),
  })
  return { Page, outer, inner }
}

const mounted: VueWrapper[] = []
afterEach(() => {
  mounted.splice(0).forEach(w => w.unmount())
})

describe('AppDialog', () => {
  it('is a labelled modal dialog: focus moves in, Tab wraps, Esc closes it and focus returns to the opener', async () => {
    const { Page, outer } = page()
    mounted.push(await mountSuspended(Page, { attachTo: document.body }))
    byId('opener').focus()
    outer.value = true
    await nextTick()
    await nextTick()

    const dialog = document.querySelector('[role="dialog"]')!
    expect(dialog.getAttribute('aria-modal')).toBe('true')
    expect(dialog.getAttribute('aria-label')).toBe('Outer')
    expect(document.activeElement).toBe(byId('outer-first'))
    byId('outer-last').focus()
    expect(key('Tab')).toBe(false)
    expect(document.activeElement).toBe(byId('outer-first'))
    expect(key('Tab', true)).toBe(false)
    expect(document.activeElement).toBe(byId('outer-last'))

    key('Escape')
    expect(outer.value).toBe(false)
    await nextTick()
    expect(document.querySelector('[role="dialog"]')).toBeNull()
    expect(document.activeElement).toBe(byId('opener'))
  })

  it('Esc closes only the innermost dialog, and focus goes back to what opened it', async () => {
    const { Page, outer, inner } = page()
    mounted.push(await mountSuspended(Page, { attachTo: document.body }))
    byId('opener').focus()
    outer.value = true
    await nextTick()
    await nextTick()
    byId('outer-first').focus()
    inner.value = true
    await nextTick()
    await nextTick()
    expect(document.activeElement).toBe(byId('inner-only'))
    // One control: Tab stays on it.
    expect(key('Tab')).toBe(false)
    expect(document.activeElement).toBe(byId('inner-only'))

    key('Escape')
    expect(inner.value).toBe(false)
    expect(outer.value).toBe(true)
    await nextTick()
    expect(document.activeElement).toBe(byId('outer-first'))
  })

  it('a press on the scrim closes it, a press inside does not', async () => {
    const { Page, outer } = page()
    const w = await mountSuspended(Page, { attachTo: document.body })
    mounted.push(w)
    outer.value = true
    await nextTick()
    await w.find('[role="dialog"]').trigger('mousedown')
    expect(outer.value).toBe(true)
    await w.find('.dialog-scrim').trigger('mousedown')
    expect(outer.value).toBe(false)
  })
})
