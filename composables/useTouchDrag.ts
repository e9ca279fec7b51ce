import { useEventListener } from '@vueuse/core'
import type { TaskStatus } from '~~/shared/schemas/common'
import { dropNeighbours } from '~/utils/board'

/**
 * How long a finger rests on a card before it lifts for dragging: shorter would fight scrolling,
 * longer runs into the browser's own long press (~500 ms: link menu, then pointercancel).
 */
export const LONG_PRESS_MS = 350
/** Moving further than this before the long press ends means the finger is scrolling, not dragging. */
export const TOUCH_SLOP_PX = 10
/** Near a screen edge the board scrolls sideways, one column at a time, to reach the next column. */
const EDGE_PX = 36
const EDGE_REPEAT_MS = 1000

export interface TouchDrop {
  id: string
  status: TaskStatus
  afterId: string | null
  beforeId: string | null
}

/**
 * Long-press drag of board cards for touch screens, with pointer events (touch browsers fire no
 * HTML5 drag events). Press and hold a card, move it within its column or to another (the board
 * scrolls at the screen edges), lift to drop: `onDrop` gets the same move as a mouse drop.
 * Mouse and pen keep HTML5 drag; keyboards and screen readers keep the card's "Move to" menu.
 */
export function useTouchDrag(board: Ref<HTMLElement | null | undefined>, onDrop: (drop: TouchDrop) => void, enabled: () => boolean) {
  const drag = useTaskDrag()
  let timer: ReturnType<typeof setTimeout> | null = null
  let card: HTMLElement | null = null
  let start = { x: 0, y: 0 }
  let pointerId = -1
  let dragging = false
  let edgeFrame = 0
  let last = { x: 0, y: 0 }

  function reset() {
    if (timer) clearTimeout(timer)
    timer = null
    cancelAnimationFrame(edgeFrame)
    if (card) card.style.transform = ''
    card = null
    pointerId = -1
    if (dragging) drag.end()
    dragging = false
  }

  function columnAt(x: number, y: number): HTMLElement | null {
    // The lifted card is under the finger: look through it.
    const hit = document.elementsFromPoint(x, y).find(el => !card?.contains(el))
    return hit?.closest<HTMLElement>('[data-status]') ?? null
  }

  let lastEdgeScroll = 0
  /** At an edge, one column per second: a scroll-snapped board ignores small steps (it snaps back). */
  function scrollAtEdge(now: number) {
    const el = board.value
    if (!dragging || !el) return
    const direction = last.x < EDGE_PX ? -1 : last.x > window.innerWidth - EDGE_PX ? 1 : 0
    if (direction && now - lastEdgeScroll > EDGE_REPEAT_MS) {
      lastEdgeScroll = now
      const column = el.firstElementChild as HTMLElement | null
      el.scrollBy({ left: direction * (column?.offsetWidth ?? el.clientWidth), behavior: 'smooth' })
    }
    edgeFrame = requestAnimationFrame(scrollAtEdge)
  }

  function onPointerDown(e: PointerEvent) {
    if (e.pointerType !== 'touch' || !enabled()) return
    const target = (e.target as HTMLElement).closest<HTMLElement>('[data-task-id][draggable="true"]')
    if (!target || (e.target as HTMLElement).closest('button, [role="menu"]')) return
    reset()
    card = target
    pointerId = e.pointerId
    start = { x: e.clientX, y: e.clientY }
    last = start
    timer = setTimeout(() => {
      timer = null
      if (!card) return
      dragging = true
      drag.draggingId.value = card.dataset.taskId!
      drag.byTouch.value = true
      navigator.vibrate?.(15)
      lastEdgeScroll = performance.now()
      edgeFrame = requestAnimationFrame(scrollAtEdge)
    }, LONG_PRESS_MS)
  }

  function onPointerMove(e: PointerEvent) {
    if (e.pointerId !== pointerId || !card) return
    last = { x: e.clientX, y: e.clientY }
    if (!dragging) {
      if (Math.hypot(e.clientX - start.x, e.clientY - start.y) > TOUCH_SLOP_PX) reset()
      return
    }
    card.style.transform = `translate(${e.clientX - start.x}px, ${e.clientY - start.y}px)`
  }

  function onPointerUp(e: PointerEvent) {
    if (e.pointerId !== pointerId) return
    if (!dragging || !card) return reset()
    const id = card.dataset.taskId!
    const column = columnAt(e.clientX, e.clientY)
    const cards = [...(column?.querySelectorAll<HTMLElement>('[data-task-id]') ?? [])]
      .filter(el => el.dataset.taskId !== id)
      .map((el) => {
        const rect = el.getBoundingClientRect()
        return { id: el.dataset.taskId!, top: rect.top, height: rect.height }
      })
    reset()
    if (column) onDrop({ id, status: column.dataset.status as TaskStatus, ...dropNeighbours(cards, e.clientY) })
  }

  // While a card is lifted the finger must not scroll the page (that would also cancel the pointer):
  // touchmove is the one event whose default (scrolling) can still be prevented.
  function onTouchMove(e: TouchEvent) {
    if (dragging) e.preventDefault()
  }
  // A long press would also open the context menu / text selection on the card.
  function onContextMenu(e: Event) {
    if (card) e.preventDefault()
  }

  // Removed with the component (VueUse); the board's once it is rendered, the window's at once.
  useEventListener(board, 'pointerdown', onPointerDown)
  useEventListener(board, 'touchmove', onTouchMove, { passive: false })
  useEventListener(board, 'contextmenu', onContextMenu)
  useEventListener('pointermove', onPointerMove)
  useEventListener('pointerup', onPointerUp)
  useEventListener('pointercancel', reset)
  onBeforeUnmount(reset)
}
