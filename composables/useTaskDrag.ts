/** MIME type of a dragged card; its id is also kept here because dragover cannot read dataTransfer data. */
export const TASK_DRAG_TYPE = 'application/x-tasktracker-task'

export function useTaskDrag() {
  const draggingId = useState<string | null>('dragging-task', () => null)
  /** The drag is a finger's long press (useTouchDrag): the card is drawn lifted, following it. */
  const byTouch = useState<boolean>('dragging-touch', () => false)

  function start(e: DragEvent, id: string) {
    draggingId.value = id
    if (e.dataTransfer) {
      e.dataTransfer.effectAllowed = 'move'
      e.dataTransfer.setData(TASK_DRAG_TYPE, id)
      e.dataTransfer.setData('text/plain', id)
    }
  }

  function end() {
    draggingId.value = null
    byTouch.value = false
  }

  /** The dragged card's id: from this tab's state, else from the drag data. */
  function idFrom(e: DragEvent): string | null {
    return draggingId.value ?? (e.dataTransfer?.getData(TASK_DRAG_TYPE) || null)
  }

  return { draggingId, byTouch, start, end, idFrom }
}
