import type { ApiToken } from '~/utils/api'

export function useApiTokens() {
  const { $trpc } = useNuxtApp()
  const tokens = useState<ApiToken[]>('api-tokens', () => [])

  async function load() {
    tokens.value = await $trpc.apiToken.list.query()
  }

  /** Returns the secret once; only its prefix is ever listed again. */
  async function create(name: string, expiresInDays: number | null) {
    const created = await $trpc.apiToken.create.mutate({ name, expiresInDays })
    const { token: _, ...row } = created
    tokens.value = [row, ...tokens.value]
    return created
  }

  async function revoke(id: string) {
    await $trpc.apiToken.revoke.mutate({ id })
    tokens.value = tokens.value.filter(t => t.id !== id)
  }

  return { tokens, load, create, revoke }
}
