import { isEventOfType, type ProjectEvent } from '~~/shared/events'
import { DEFAULT_LABEL_COLOR, labelColorValues, type LabelColor, type LabelDto } from '~~/shared/schemas/label'

const isColor = (value: unknown): value is LabelColor => labelColorValues.includes(value as LabelColor)

/** Project labels (name → colour), for every project the tab has seen: boards, panels and My tasks. */
export const useLabelsStore = defineStore('labels', () => {
  const byProject = ref<Record<string, LabelDto[]>>({})

  function sorted(list: LabelDto[]) {
    return [...list].sort((a, b) => a.name.localeCompare(b.name))
  }

  function setProject(projectId: string, list: readonly LabelDto[]) {
    byProject.value[projectId] = sorted(list.filter(l => l.projectId === projectId))
  }

  /** Replaces the labels of every project named in `projectIds` (My tasks loads several at once). */
  function setMany(projectIds: readonly string[], list: readonly LabelDto[]) {
    for (const id of projectIds) setProject(id, list)
  }

  function upsert(label: LabelDto) {
    const list = (byProject.value[label.projectId] ?? []).filter(l => l.id !== label.id)
    byProject.value[label.projectId] = sorted([...list, label])
  }

  function remove(projectId: string, id: string) {
    byProject.value[projectId] = (byProject.value[projectId] ?? []).filter(l => l.id !== id)
  }

  function list(projectId: string): LabelDto[] {
    return byProject.value[projectId] ?? []
  }

  /** A task label's colour: its Label's, or gray for a name no Label has. */
  function colorOf(projectId: string, name: string): LabelColor {
    return list(projectId).find(l => l.name === name)?.color ?? DEFAULT_LABEL_COLOR
  }

  /** Applies a label.* event of the project log (the tasks a rename rewrites get their own task.updated). */
  function applyEvent(event: ProjectEvent) {
    if (isEventOfType(event, 'label.created')) {
      upsert({ id: event.entityId, projectId: event.projectId, name: event.data.name, color: isColor(event.data.color) ? event.data.color : DEFAULT_LABEL_COLOR })
    }
    else if (isEventOfType(event, 'label.updated')) {
      const current = list(event.projectId).find(l => l.id === event.entityId)
      if (!current) return
      const { name, color } = event.data.changes
      upsert({
        ...current,
        ...(typeof name?.to === 'string' ? { name: name.to } : {}),
        ...(isColor(color?.to) ? { color: color.to } : {}),
      })
    }
    else if (isEventOfType(event, 'label.deleted')) {
      remove(event.projectId, event.entityId)
    }
  }

  return { byProject, setProject, setMany, upsert, remove, list, colorOf, applyEvent }
})
