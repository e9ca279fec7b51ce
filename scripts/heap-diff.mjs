// `node scripts/heap-diff.mjs before.heapsnapshot after.heapsnapshot [N]`: what a V8 heap grew by
// between two snapshots (from `npm run bench:ws -- --heap-snapshot=<dir>`), grouped by node type and
// constructor or function name, largest growth first; with N (the sockets opened in between), also
// per socket. Only counts and self sizes: enough to see which objects each socket keeps.
import { readFileSync } from 'node:fs'

const [beforePath, afterPath, perArg, topArg] = process.argv.slice(2)
if (!beforePath || !afterPath) {
  console.error('usage: node scripts/heap-diff.mjs before.heapsnapshot after.heapsnapshot [N] [top=40]')
  process.exit(1)
}
const per = Number(perArg ?? 1) || 1
const top = Number(topArg ?? 40)

/** Count and self size per "type name" of one snapshot. */
function groups(path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'))
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const { nodes, strings } = snapshot
  const byKey = new Map()
  let total = 0
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]]
    let name = strings[nodes[i + nameAt]]
    // Strings and numbers are grouped by type only (their "name" is their value).
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'heap number') name = ''
    if (name.length > 60) name = `${name.slice(0, 57)}...`
    const key = `${type} ${name}`
    const size = nodes[i + sizeAt]
    total += size
    const entry = byKey.get(key) ?? { count: 0, size: 0 }
    entry.count++
    entry.size += size
    byKey.set(key, entry)
  }
  return { byKey, total }
}

const before = groups(beforePath)
const after = groups(afterPath)
const rows = []
for (const [key, a] of after.byKey) {
  const b = before.byKey.get(key) ?? { count: 0, size: 0 }
  if (a.size !== b.size || a.count !== b.count) rows.push({ key, count: a.count - b.count, size: a.size - b.size })
}
rows.sort((x, y) => y.size - x.size)
const kib = bytes => (bytes / 1024).toFixed(2)
console.log(`total self size: ${kib(before.total)} → ${kib(after.total)} KiB (+${kib(after.total - before.total)} KiB; per ${per}: ${(((after.total - before.total) / per) / 1024).toFixed(3)} KiB)`)
console.log('| type and name | objects | per N | bytes | bytes per N |')
console.log('|---|---|---|---|---|')
for (const row of rows.slice(0, top)) {
  console.log(`| ${row.key.replaceAll('|', '\\|')} | ${row.count} | ${(row.count / per).toFixed(2)} | ${row.size} | ${(row.size / per).toFixed(1)} |`)
}
