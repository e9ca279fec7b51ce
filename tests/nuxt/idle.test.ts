import { afterEach, describe, expect, it } from 'vitest'
import { effectScope } from 'vue'
import { IDLE_AFTER_MS, useIdle, type Clock } from '~/composables/useIdle'
import { manualClock } from './manualClock'

let visibility: DocumentVisibilityState = 'visible'
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility })

function setVisibility(next: DocumentVisibilityState) {
  visibility = next
  document.dispatchEvent(new Event('visibilitychange'))
}

const scopes: ReturnType<typeof effectScope>[] = []
function start(clock: Clock) {
  const scope = effectScope()
  scopes.push(scope)
  return scope.run(() => useIdle({ clock }))!
}

describe('useIdle', () => {
  afterEach(() => {
    scopes.splice(0).forEach(s => s.stop())
    visibility = 'visible'
  })

  it('turns idle after 5 minutes without input, and back at the next input', () => {
    const clock = manualClock()
    const { idle, inactive } = start(clock)
    expect(IDLE_AFTER_MS).toBe(5 * 60_000)

    clock.advance(IDLE_AFTER_MS - 1_000)
    expect(idle.value).toBe(false)
    // Input shortly before the deadline pushes it back by a full 5 minutes from then.
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'a' }))
    clock.advance(2_000)
    expect(idle.value).toBe(false)
    clock.advance(IDLE_AFTER_MS - 3_000)
    expect(idle.value).toBe(false)
    clock.advance(1_000)
    expect(idle.value).toBe(true)
    expect(inactive.value).toBe(true)

    window.dispatchEvent(new Event('pointermove'))
    expect(idle.value).toBe(false)
    expect(inactive.value).toBe(false)
    // And idle again after another quiet period.
    clock.advance(IDLE_AFTER_MS)
    expect(idle.value).toBe(true)
  })

  it('is inactive while the tab is hidden, active again when it shows', () => {
    const clock = manualClock()
    const { hidden, idle, inactive } = start(clock)
    setVisibility('hidden')
    expect(hidden.value).toBe(true)
    expect(inactive.value).toBe(true)
    expect(idle.value).toBe(false)

    clock.advance(IDLE_AFTER_MS)
    setVisibility('visible')
    // Coming back is input: neither hidden nor idle.
    expect(hidden.value).toBe(false)
    expect(idle.value).toBe(false)
    expect(inactive.value).toBe(false)
  })

  it('stops listening when its scope ends', () => {
    const clock = manualClock()
    const scope = effectScope()
    const { idle } = scope.run(() => useIdle({ clock }))!
    scope.stop()
    clock.advance(IDLE_AFTER_MS * 2)
    expect(idle.value).toBe(false)
    setVisibility('hidden')
    expect(idle.value).toBe(false)
  })
})
