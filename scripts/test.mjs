// `npm test`: every check, in order, stopping at the first failure:
// lint → typecheck → production build (the browser tests run against it) → all vitest projects with
// coverage (unit, integration on PGlite and PostgreSQL, Nuxt stores/composables, browser).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const bin = name => join('node_modules', '.bin', name)
const extra = process.argv.slice(2)

function step(title, cmd, args) {
  console.log(`\n── ${title}: ${[cmd, ...args].join(' ')}`)
  const started = Date.now()
  const { status } = spawnSync(cmd, args, { stdio: 'inherit', env: process.env })
  console.log(`── ${title}: ${status === 0 ? 'ok' : `failed (exit ${status})`} in ${Math.round((Date.now() - started) / 1000)} s`)
  if (status !== 0) process.exit(status ?? 1)
}

step('lint', bin('eslint'), ['.'])
step('typecheck', bin('nuxt'), ['typecheck'])
if (!process.env.SKIP_BUILD || !existsSync('.output/server/index.mjs')) step('build', bin('nuxt'), ['build'])

// Reports go to a private temp folder, so a second vitest running in this checkout cannot collide.
const out = mkdtempSync(join(tmpdir(), 'tt-vitest-'))
const report = join(out, 'report.json')
const vitest = spawnSync(bin('vitest'), [
  'run',
  '--coverage',
  `--coverage.reportsDirectory=${join(out, 'coverage')}`,
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...extra,
], { stdio: 'inherit', env: process.env })
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`)
}
process.exit(vitest.status ?? 1)
