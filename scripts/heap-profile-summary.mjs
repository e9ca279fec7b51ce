// `node scripts/heap-profile-summary.mjs <file.heapprofile> [top]`: what a sampling allocation profile
// (`bench:ws --alloc-prof=<dir>`) says was allocated, in total and by function: self (allocated in
// the function itself) and inclusive (in it and everything it called), largest first.
import { readFileSync } from 'node:fs'

const [file, topArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: node scripts/heap-profile-summary.mjs <file.heapprofile> [top]')
  process.exit(1)
}
const top = Number(topArg ?? 25)
const { head } = JSON.parse(readFileSync(file, 'utf8'))
const self = new Map()
const inclusive = new Map()
let total = 0
const nameOf = ({ callFrame: f }) => `${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\.output\//, '')}:${f.lineNumber + 1}`

function walk(node, above) {
  const name = nameOf(node)
  total += node.selfSize
  self.set(name, (self.get(name) ?? 0) + node.selfSize)
  // A recursive function counts once per allocation in the inclusive figures.
  const stack = new Set(above).add(name)
  for (const frame of stack) inclusive.set(frame, (inclusive.get(frame) ?? 0) + node.selfSize)
  for (const child of node.children) walk(child, stack)
}
walk(head, new Set())

const mb = bytes => (bytes / 1e6).toFixed(2).padStart(8)
const print = (title, map) => {
  console.log(`\n${title}`)
  for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${mb(bytes)} MB ${(100 * bytes / total).toFixed(1).padStart(5)} %  ${name}`)
}
console.log(`allocated: ${(total / 1e6).toFixed(1)} MB`)
print('self', self)
print('inclusive', inclusive)
