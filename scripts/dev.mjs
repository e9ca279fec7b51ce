// `npm run dev`: `nuxt dev` in its own process group, stopped as a whole. nuxi forks the dev
// server into a child process; a SIGINT/SIGTERM sent to npm (a terminal closing, an IDE's stop
// button, `kill`) reached only the first process, and the forked server kept holding the port.
// Here every stop signal is passed to the whole group, and this process exits only once the
// group has (after 10 s, it is killed). Its stdin is not the terminal: a background process group
// reading it would be stopped (SIGTTIN).
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const nuxi = fileURLToPath(new URL('../node_modules/@nuxt/cli/bin/nuxi.mjs', import.meta.url))
const child = spawn(process.execPath, [nuxi, 'dev', ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit'], detached: true })

/** Signals the group (the dev server and everything it started); false once it is gone. */
function signalGroup(signal) {
  try {
    process.kill(-child.pid, signal)
    return true
  }
  catch {
    return false
  }
}

let stopping = false
function stop(signal) {
  if (stopping) return
  stopping = true
  signalGroup(signal)
  setTimeout(() => signalGroup('SIGKILL'), 10_000).unref()
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal))

// npm runs this through `sh -c`; package.json says `exec` so that npm's signal reaches this process,
// not a shell that would not pass it on. Should this process still be orphaned (npm killed
// outright), the dev server goes with it.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) stop('SIGTERM')
}, 500).unref()

child.on('exit', (code, signal) => {
  // The forked server may outlive nuxi by a moment: make sure nothing of the group is left.
  const wait = setInterval(() => {
    if (signalGroup(0)) {
      if (!stopping) stop('SIGTERM')
      return
    }
    clearInterval(wait)
    process.exit(code ?? (signal ? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 }[signal] ?? 0) : 0))
  }, 50)
})
