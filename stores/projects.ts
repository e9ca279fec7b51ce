import type { Member, Project, ProjectSummary } from '~/utils/api'
import { managerRoles, writerRoles } from '~~/shared/schemas/common'

/** The signed-in user's projects (sidebar, home), plus the open project and its members. */
export const useProjectsStore = defineStore('projects', () => {
  const byId = ref<Record<string, ProjectSummary>>({})
  const ids = ref<string[]>([])
  const listLoaded = ref(false)

  const current = ref<Project | null>(null)
  const membersById = ref<Record<string, Member>>({})
  const memberIds = ref<string[]>([])

  const list = computed(() => ids.value.map(id => byId.value[id]).filter((p): p is ProjectSummary => !!p))
  const members = computed(() => memberIds.value.map(id => membersById.value[id]).filter((m): m is Member => !!m))
  const canWrite = computed(() => !!current.value && writerRoles.includes(current.value.role))
  const canManage = computed(() => !!current.value && managerRoles.includes(current.value.role))

  function setList(projects: ProjectSummary[]) {
    byId.value = Object.fromEntries(projects.map(p => [p.id, p]))
    ids.value = projects.map(p => p.id)
    listLoaded.value = true
  }

  function upsertSummary(project: ProjectSummary) {
    if (!byId.value[project.id]) ids.value.push(project.id)
    byId.value[project.id] = project
    ids.value.sort((a, b) => byId.value[a]!.name.localeCompare(byId.value[b]!.name))
  }

  function removeProject(id: string) {
    const { [id]: _, ...rest } = byId.value
    byId.value = rest
    ids.value = ids.value.filter(x => x !== id)
    if (current.value?.id === id) current.value = null
  }

  function setCurrent(project: Project) {
    current.value = project
    const summary = byId.value[project.id]
    if (summary) byId.value[project.id] = { ...summary, name: project.name, key: project.key, description: project.description, role: project.role }
  }

  function setMembers(list: Member[]) {
    membersById.value = Object.fromEntries(list.map(m => [m.id, m]))
    memberIds.value = list.map(m => m.id)
  }

  function upsertMember(member: Member) {
    if (!membersById.value[member.id]) memberIds.value.push(member.id)
    membersById.value[member.id] = member
  }

  function removeMember(userId: string) {
    const { [userId]: _, ...rest } = membersById.value
    membersById.value = rest
    memberIds.value = memberIds.value.filter(x => x !== userId)
  }

  return {
    byId, ids, list, listLoaded, current, membersById, memberIds, members, canWrite, canManage,
    setList, upsertSummary, removeProject, setCurrent, setMembers, upsertMember, removeMember,
  }
})
