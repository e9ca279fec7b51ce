import type { RouterOutputs, Task } from '~/utils/api'
import { groupByDue } from '~/utils/myTasks'

export type MyTasksProject = RouterOutputs['task']['mine']['projects'][number]

/** "My tasks": the signed-in user's assigned tasks across projects, normalized, grouped by due date. */
export const useMyTasksStore = defineStore('myTasks', () => {
  const byId = ref<Record<string, Task>>({})
  const ids = ref<string[]>([])
  const projectsById = ref<Record<string, MyTasksProject>>({})
  /** the day the groups are computed for; `tick()` moves it on (a tab left open over midnight) */
  const now = ref(new Date())

  const tasks = computed(() => ids.value.map(id => byId.value[id]).filter((t): t is Task => !!t))
  const groups = computed(() => groupByDue(tasks.value, now.value))

  function set(data: { projects: MyTasksProject[], tasks: readonly Task[] }) {
    // The projects a list names are the ones whose tasks it holds: nothing else is shown.
    projectsById.value = Object.fromEntries(data.projects.map(p => [p.id, p]))
    byId.value = Object.fromEntries(data.tasks.map(t => [t.id, t]))
    ids.value = data.tasks.map(t => t.id)
  }

  /** Adds or replaces a task; an older copy than the one held (a late answer after a live event) is ignored. */
  function upsert(task: Task) {
    const current = byId.value[task.id]
    if (current && current.version > task.version) return
    if (!current) ids.value.push(task.id)
    byId.value[task.id] = task
  }

  function patch(id: string, fields: Partial<Task>) {
    const current = byId.value[id]
    if (current) byId.value[id] = { ...current, ...fields }
  }

  function remove(id: string) {
    const { [id]: _, ...rest } = byId.value
    byId.value = rest
    ids.value = ids.value.filter(x => x !== id)
  }

  function removeProject(projectId: string) {
    for (const task of tasks.value) if (task.projectId === projectId) remove(task.id)
    const { [projectId]: _, ...rest } = projectsById.value
    projectsById.value = rest
  }

  function tick(date = new Date()) {
    now.value = date
  }

  return { byId, ids, tasks, groups, projectsById, now, set, upsert, patch, remove, removeProject, tick }
})
