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
        // The server refuses longer batches (MAX_BATCH_SIZE, default 20): split them here instead.
        maxItems: 20,
      }),
    ],
  })
  return { provide: { trpc } }
})
