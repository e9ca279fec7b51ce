import type { Role } from '~~/shared/schemas/common'

/** The open project (with the caller's role) and its members; also the settings actions. */
export function useProject(projectId: MaybeRefOrGetter<string>) {
  const { $trpc } = useNuxtApp()
  const store = useProjectsStore()
  const labelsStore = useLabelsStore()
  const id = () => toValue(projectId)

  async function load() {
    const [project, members, labels] = await Promise.all([
      $trpc.project.byId.query({ id: id() }),
      $trpc.member.list.query({ projectId: id() }),
      $trpc.label.list.query({ projectId: id() }),
    ])
    store.setCurrent(project)
    store.setMembers(members)
    labelsStore.setProject(project.id, labels)
    return project
  }

  async function update(patch: { name?: string, description?: string }) {
    store.setCurrent(await $trpc.project.update.mutate({ id: id(), ...patch }))
  }

  async function addMember(username: string, role: Role) {
    store.upsertMember(await $trpc.member.add.mutate({ projectId: id(), username, role }))
  }

  async function updateRole(userId: string, role: Role) {
    const result = await $trpc.member.updateRole.mutate({ projectId: id(), userId, role })
    const member = store.membersById[userId]
    if (member) store.upsertMember({ ...member, role: result.role })
  }

  async function removeMember(userId: string) {
    await $trpc.member.remove.mutate({ projectId: id(), userId })
    store.removeMember(userId)
  }

  async function leave() {
    await $trpc.member.leave.mutate({ projectId: id() })
    store.removeProject(id())
  }

  return {
    project: computed(() => store.current),
    members: computed(() => store.members),
    canWrite: computed(() => store.canWrite),
    canManage: computed(() => store.canManage),
    load, update, addMember, updateRole, removeMember, leave,
  }
}
