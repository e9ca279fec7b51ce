// Runs `prisma generate` on machines that cannot download Prisma's schema-engine binary.
// The client itself needs no binary (driver adapters); the CLI only insists on the engine being
// present. Where the real engine is missing and none is configured, point the CLI at a no-op.
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const env = { ...process.env }
const enginesDir = join(process.cwd(), 'node_modules', '@prisma', 'engines')
const hasEngine = existsSync(enginesDir) && readdirSync(enginesDir).some(f => f.startsWith('schema-engine'))
if (!hasEngine && !env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const dir = join(tmpdir(), 'tasktracker-prisma')
  mkdirSync(dir, { recursive: true })
  const noop = join(dir, 'schema-engine-noop')
  writeFileSync(noop, '#!/bin/sh\nexit 0\n')
  chmodSync(noop, 0o755)
  env.PRISMA_SCHEMA_ENGINE_BINARY = noop
  env.PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING = '1'
}
execFileSync(process.execPath, [join('node_modules', 'prisma', 'build', 'index.js'), 'generate'], { stdio: 'inherit', env })
