import type { Task } from '~/utils/api'

/** The task the board or list has selected with the keyboard (j/k, arrows). */
export function useTaskSelection() {
  return useState<string | null>('selected-task', () => null)
}

/** Waits (a few frames at most) for an element to render, then focuses it. */
function focusWhenShown(selector: string, tries = 120) {
  const el = document.querySelector<HTMLElement>(selector)
  if (el) {
    el.focus()
    return
  }
  if (tries > 0) requestAnimationFrame(() => focusWhenShown(selector, tries - 1))
}

/**
 * The board's and the list's shortcuts: `grid` is what the view shows, as columns of tasks (the
 * list is one column). j/k and ↑/↓ move within a column, ←/→ across columns, Enter opens, e/a/s/p/l
 * open the task on that field, Delete deletes (with Undo), Esc clears the selection, c creates,
 * g b / g l / g a switch views.
 */
export function useTaskShortcuts(options: { projectId: () => string, grid: () => Task[][], canWrite: () => boolean }) {
  const selected = useTaskSelection()
  const route = useRoute()
  const board = useBoardStore()
  const projects = useProjectsStore()
  const palette = usePalette()
  const { deleteTask } = useTaskActions()

  function where(): { column: number, index: number } | null {
    const grid = options.grid()
    for (let column = 0; column < grid.length; column++) {
      const index = grid[column]!.findIndex(t => t.id === selected.value)
      if (index !== -1) return { column, index }
    }
    return null
  }

  function select(task: Task | undefined) {
    if (!task) return
    selected.value = task.id
    void nextTick(() => document.querySelector(`[data-task-id="${CSS.escape(task.id)}"]`)?.scrollIntoView({ block: 'nearest', inline: 'nearest' }))
  }

  function first() {
    select(options.grid().find(c => c.length)?.[0])
  }

  function vertical(delta: number) {
    const at = where()
    if (!at) return first()
    const column = options.grid()[at.column]!
    select(column[Math.min(Math.max(at.index + delta, 0), column.length - 1)])
  }

  function horizontal(delta: number) {
    const at = where()
    if (!at) return first()
    const grid = options.grid()
    for (let c = at.column + delta; c >= 0 && c < grid.length; c += delta) {
      if (grid[c]!.length) return select(grid[c]![Math.min(at.index, grid[c]!.length - 1)])
    }
  }

  const current = () => (selected.value ? board.byId[selected.value] : undefined)

  function open(field?: string) {
    const task = current()
    if (!task) return
    void navigateTo({ path: route.path, query: { ...route.query, task: task.id } })
    if (field) focusWhenShown(`#${field}`)
  }

  function create() {
    if (!options.canWrite()) return
    const input = document.querySelector<HTMLInputElement>('#column-TODO input')
    if (input) input.focus()
    else palette.show('create')
  }

  function remove() {
    const task = current()
    if (!task || !options.canWrite()) return
    const key = projects.current?.key
    void deleteTask(task, key ? `${key}-${task.number}` : `“${task.title}”`)
  }

  const view = (path: string) => () => navigateTo(`/projects/${options.projectId()}${path}`)
  const group = 'Board and list'
  useShortcuts([
    { keys: 'c', description: 'Create a task', group, run: create },
    { keys: 'j', description: 'Select the next task', group, run: () => vertical(1) },
    { keys: 'k', description: 'Select the previous task', group, run: () => vertical(-1) },
    { keys: 'ArrowDown', description: 'Select the next task', group, run: () => vertical(1) },
    { keys: 'ArrowUp', description: 'Select the previous task', group, run: () => vertical(-1) },
    { keys: 'ArrowRight', description: 'Select in the next column', group, run: () => horizontal(1) },
    { keys: 'ArrowLeft', description: 'Select in the previous column', group, run: () => horizontal(-1) },
    { keys: 'Enter', description: 'Open the selected task', group, run: () => open() },
    { keys: 'e', description: 'Edit the title', group, run: () => open('task-title') },
    { keys: 'a', description: 'Assign', group, run: () => open('task-assignee') },
    { keys: 's', description: 'Change the status', group, run: () => open('task-status') },
    { keys: 'p', description: 'Change the priority', group, run: () => open('task-priority') },
    { keys: 'l', description: 'Edit the labels', group, run: () => open('task-labels') },
    { keys: 'Delete', description: 'Delete the selected task (with Undo)', group, run: remove },
    { keys: 'Escape', description: 'Clear the selection (or close the panel)', group, run: () => { selected.value = null } },
    { keys: 'g b', description: 'Go to the board', group, run: view('') },
    { keys: 'g l', description: 'Go to the list', group, run: view('/list') },
    { keys: 'g a', description: 'Go to the activity', group, run: view('/activity') },
  ])

  return { selected, select }
}
