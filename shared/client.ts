import { createTRPCClient, httpBatchLink } from '@trpc/client'
import superjson from 'superjson'
import type { AppRouter } from '../server/trpc/routers/_app'

export type { AppRouter }

export interface TaskTrackerClientOptions {
  /** Base URL of a TaskTracker Pro deployment, e.g. https://tasks.example.com */
  url: string
  /** A personal API token (`ttp_…`), created under Settings → API tokens. */
  token: string
  /** Optional fetch implementation (defaults to the global one). */
  fetch?: typeof globalThis.fetch
}

/**
 * A typed client for internal services. Every procedure of the app is available with its input and
 * output types, e.g. `await client.task.list.query({ projectId })`.
 */
export function createTaskTrackerClient({ url, token, fetch }: TaskTrackerClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${url.replace(/\/$/, '')}/api/trpc`,
        transformer: superjson,
        headers: () => ({ authorization: `Bearer ${token}` }),
        fetch,
      }),
    ],
  })
}
