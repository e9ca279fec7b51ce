import { mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h, nextTick, ref } from 'vue'
import { useFocusTrap, type FocusTrapOptions } from '~/composables/useFocusTrap'

/** A dialog of three buttons with the trap, optionally holding a nested dialog. */
function dialog(name: string, options: Omit<FocusTrapOptions, 'active'> & { active?: () => boolean } = {}, inner?: () => ReturnType<typeof h>) {
  return defineComponent({
    setup() {
      const root = ref<HTMLElement>()
      useFocusTrap(root, options)
      return () => h('div', { 'ref': root, 'role': 'dialog', 'aria-label': name, 'tabindex': '-1' }, [
        h('button', { id: `${name}-first` }, 'First'),
        h('button', { id: `${name}-middle` }, 'Middle'),
        h('button', { id: `${name}-last` }, 'Last'),
        inner?.(),
      ])
    },
  })
}

const mounted: VueWrapper[] = []
function page(component: ReturnType<typeof dialog>, show = ref(true)) {
  const w = mount(defineComponent({
    setup: () => () => h('div', [h('button', { id: 'opener' }, 'Open'), h('input', { id: 'outside' }), show.value ? h(component) : null]),
  }), { attachTo: document.body })
  mounted.push(w)
  return { w, show }
}
const byId = (id: string) => document.getElementById(id)!
const tab = (shiftKey = false) => document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', shiftKey, bubbles: true, cancelable: true }))
const esc = () => document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }))

describe('useFocusTrap', () => {
  afterEach(() => {
    mounted.splice(0).forEach(w => w.unmount())
  })

  it('moves focus in, wraps Tab and Shift+Tab at the ends, pulls stray focus back, and returns it to the opener', async () => {
    const show = ref(false)
    page(dialog('Edit'), show)
    byId('opener').focus()
    show.value = true
    await nextTick()
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Edit')

    byId('Edit-last').focus()
    expect(tab()).toBe(false) // handled: the browser does not move on
    expect(document.activeElement).toBe(byId('Edit-first'))
    expect(tab(true)).toBe(false)
    expect(document.activeElement).toBe(byId('Edit-last'))
    // In the middle the browser's own Tab order applies.
    byId('Edit-middle').focus()
    expect(tab()).toBe(true)

    // A script or a click puts focus outside: it comes back in.
    byId('outside').focus()
    expect(document.activeElement).toBe(byId('Edit-first'))

    show.value = false
    await nextTick()
    expect(document.activeElement).toBe(byId('opener'))
  })

  it('Esc closes only the innermost of two nested dialogs, and focus goes back to what opened each', async () => {
    const innerShown = ref(false)
    const closed: string[] = []
    const inner = dialog('Conflict', { onEscape: () => {
      closed.push('Conflict')
      innerShown.value = false
    } })
    const outerShown = ref(false)
    page(dialog('Panel', { onEscape: () => {
      closed.push('Panel')
      outerShown.value = false
    } }, () => (innerShown.value ? h(inner) : h('span'))), outerShown)
    byId('opener').focus()
    outerShown.value = true
    await nextTick()
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Panel')

    // "Save" in the panel opens the conflict dialog: it holds focus now, not the panel around it.
    byId('Panel-middle').focus()
    innerShown.value = true
    await nextTick()
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Conflict')
    byId('Conflict-last').focus()
    tab()
    expect(document.activeElement).toBe(byId('Conflict-first'))
    byId('Panel-last').focus()
    expect(document.activeElement).toBe(byId('Conflict-first'))

    esc()
    await nextTick()
    expect(closed).toEqual(['Conflict'])
    expect(document.activeElement).toBe(byId('Panel-middle'))
    // The panel's trap is in charge again.
    byId('Panel-last').focus()
    tab()
    expect(document.activeElement).toBe(byId('Panel-first'))

    esc()
    await nextTick()
    expect(closed).toEqual(['Conflict', 'Panel'])
    expect(document.activeElement).toBe(byId('opener'))
  })

  it('inactive (a side panel on a wide screen): no trap, but focus still returns to the opener on close', async () => {
    const active = ref(false)
    const show = ref(false)
    page(dialog('Side', { active: () => active.value, fallbackFocus: () => byId('outside') }), show)
    byId('opener').focus()
    show.value = true
    await nextTick()
    byId('Side-first').focus()
    byId('outside').focus()
    // Not pulled back.
    expect(document.activeElement).toBe(byId('outside'))

    // Turning active (the window narrowed to a phone's sheet) traps it, from then on.
    active.value = true
    await vi.waitFor(() => expect(document.activeElement?.getAttribute('aria-label')).toBe('Side'))
    active.value = false
    await nextTick()
    // Deactivated while still shown: back to what had focus before (the outside input).
    expect(document.activeElement).toBe(byId('outside'))

    byId('Side-middle').focus()
    show.value = false
    await nextTick()
    expect(document.activeElement).toBe(byId('opener'))
  })

  it('closing with focus elsewhere (the user clicked on the board) leaves it there', async () => {
    const show = ref(false)
    page(dialog('Side', { active: () => false }), show)
    byId('opener').focus()
    show.value = true
    await nextTick()
    byId('outside').focus()
    show.value = false
    await nextTick()
    expect(document.activeElement).toBe(byId('outside'))
  })
})
