import type { RouterInputs } from '~/utils/api'

export function useProjects() {
  const { $trpc } = useNuxtApp()
  const store = useProjectsStore()

  async function load() {
    store.setList(await $trpc.project.list.query())
  }

  async function create(input: RouterInputs['project']['create']) {
    const project = await $trpc.project.create.mutate(input)
    store.upsertSummary({ ...project, memberCount: 1, taskCount: 0 })
    return project
  }

  /** SSR-aware first load, shared by the sidebar and the home page (same key: one request). */
  function fetchList() {
    return useAsyncData('projects', async () => {
      await load()
      return true
    })
  }

  return { projects: computed(() => store.list), loaded: computed(() => store.listLoaded), load, create, fetchList }
}
