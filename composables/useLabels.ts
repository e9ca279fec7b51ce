import type { LabelColor } from '~~/shared/schemas/label'

/** A project's labels: loads them into the labels store; create, rename, recolour and delete. */
export function useLabels(projectId: MaybeRefOrGetter<string>) {
  const { $trpc } = useNuxtApp()
  const store = useLabelsStore()
  const id = () => toValue(projectId)

  async function load() {
    store.setProject(id(), await $trpc.label.list.query({ projectId: id() }))
  }

  async function create(name: string, color?: LabelColor) {
    const label = await $trpc.label.create.mutate({ projectId: id(), name, color })
    store.upsert(label)
    return label
  }

  async function update(labelId: string, patch: { name?: string, color?: LabelColor }) {
    const label = await $trpc.label.update.mutate({ id: labelId, patch })
    store.upsert(label)
    return label
  }

  async function remove(labelId: string) {
    await $trpc.label.delete.mutate({ id: labelId })
    store.remove(id(), labelId)
  }

  return { labels: computed(() => store.list(id())), load, create, update, remove }
}
