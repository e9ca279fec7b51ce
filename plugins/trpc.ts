import superjson from 'superjson'
import { createTRPCNuxtClient, httpBatchLink } from 'trpc-nuxt/client'
import type { AppRouter } from '~~/server/trpc/routers/_app'

export default defineNuxtPlugin(() => {
  const trpc = createTRPCNuxtClient<AppRouter>({
    links: [
      httpBatchLink({
        url: '/api/trpc',
        transformer: superjson,
        // On the server, forward the visitor's cookie so SSR renders what they may see.
        pickHeaders: ['cookie'],
      }),
    ],
  })
  return { provide: { trpc } }
})
