import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startAppServer } from './appServer'

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string
  }
}

/** Starts the production build on a fresh embedded database; the browser tests talk to it. */
export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ttp-e2e-'))
  // The embedded database only: startAppServer never passes an inherited DATABASE_URL/REDIS_URL on.
  const server = await startAppServer({ PGLITE_DIR: dataDir }).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  })
  project.provide('baseUrl', server.baseUrl)
  return async () => {
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
