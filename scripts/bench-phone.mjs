// `npm run bench:phone`: a board's first load on a phone profile, without and with compression.
// Starts the production build (`node .output/server/index.mjs`) on a free loopback port with a fresh
// embedded database, creates a project with --tasks cards, then loads its board in Debian's
// Chromium as a new visitor (empty cache) on a 390×844 touch phone with CPU ×4 slowdown and
// DevTools' "Fast 3G" (562.5 ms RTT, 1.44 Mbit/s down, 675 kbit/s up), and reports:
//   bytes over the wire and requests until `load`, time to the first card (server-rendered HTML),
//   time until Vue has hydrated the page (interactive), time to `load`.
// "identity" turns compression off (the browser sends `Accept-Encoding: identity` through CDP
// Network.setExtraHTTPHeaders; the server then sends every page and asset uncompressed, as it did
// before compression); "br, gzip" is the browser's normal Accept-Encoding. The service worker is blocked: its precache download starts
// after the page is shown and is reported separately (the size of what sw.js lists).
// Options: --runs=3 --tasks=40
import { existsSync, readFileSync, statSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { httpCaller, startBenchServer } from './bench-lib.mjs'

const args = Object.fromEntries(process.argv.slice(2).map(a => a.replace(/^--/, '').split('=')))
const RUNS = Number(args.runs ?? 3)
const TASKS = Number(args.tasks ?? 40)
const FAST_3G = { offline: false, latency: 562.5, downloadThroughput: (1.44 * 1024 * 1024) / 8, uploadThroughput: (675 * 1024) / 8 }

if (!existsSync('.output/server/index.mjs')) {
  console.error('No production build: run `npm run build` first.')
  process.exit(1)
}

const { base } = await startBenchServer('tt-bench-phone-', { REGISTER_LIMIT_PER_IP: '10000' })
let browser

const api = httpCaller(base)
const username = `phone${Date.now().toString(36)}`
await api.call('mutation', 'auth.register', { email: `${username}@example.test`, username, name: 'Phone Bench', password: 'correct horse battery' })
const project = await api.call('mutation', 'project.create', { name: 'Phone bench' })
const statuses = ['TODO', 'IN_PROGRESS', 'IN_REVIEW', 'DONE']
for (let i = 0; i < TASKS; i++) {
  await api.call('mutation', 'task.create', { projectId: project.id, title: `Card ${i + 1}: something to do on the road`, status: statuses[i % 4] })
}
const [name, value] = api.cookie().split('=')

browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic'] })

async function firstLoad(encoding) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true, serviceWorkers: 'block' })
  await context.addCookies([{ name, value, url: base }])
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
  await cdp.send('Network.emulateNetworkConditions', FAST_3G)
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
  // Chromium lets DevTools override Accept-Encoding: "identity" asks for every response uncompressed.
  if (encoding) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': encoding } })
  const encodings = []
  cdp.on('Network.responseReceived', (e) => {
    if (counting) encodings.push(e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? 'none')
  })
  let bytes = 0
  let requests = 0
  let counting = true
  cdp.on('Network.requestWillBeSent', () => {
    if (counting) requests++
  })
  cdp.on('Network.loadingFinished', (e) => {
    if (counting) bytes += e.encodedDataLength
  })
  const start = Date.now()
  await page.goto(`${base}/projects/${project.id}`, { waitUntil: 'commit' })
  await page.getByRole('listitem', { name: /Card 1:/ }).first().waitFor({ timeout: 120_000 })
  const toCards = Date.now() - start
  // Interactive: Vue has hydrated the page (a tap on a card now opens it).
  await page.waitForFunction(() => !!document.querySelector('#__nuxt')?.__vue_app__, undefined, { timeout: 120_000 })
  const toHydrated = Date.now() - start
  await page.waitForLoadState('load')
  const toLoad = Date.now() - start
  counting = false
  await context.close()
  return { toCards, toHydrated, toLoad, bytes, requests, compressed: encodings.filter(e => e !== 'none').length }
}

/** What sw.js precaches, as sent with brotli (the .br files Nitro serves). */
function precacheBytes() {
  const sw = readFileSync('.output/public/sw.js', 'utf8')
  const urls = [...sw.matchAll(/"?url"?:"([^"]+)"/g)].map(m => m[1])
  let raw = 0
  let br = 0
  for (const url of urls) {
    const file = join('.output/public', url)
    if (!existsSync(file)) continue
    raw += statSync(file).size
    br += existsSync(`${file}.br`) ? statSync(`${file}.br`).size : statSync(file).size
  }
  return { files: urls.length, raw, br }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const kb = n => `${(n / 1024).toFixed(0)} kB`
const rows = []
// Alternating runs, so machine noise hits both settings alike.
const results = { identity: [], compressed: [] }
for (let i = 0; i < RUNS; i++) {
  results.identity.push(await firstLoad('identity'))
  results.compressed.push(await firstLoad(null))
}
for (const [label, runs] of Object.entries(results)) {
  rows.push({
    'Accept-Encoding': label === 'identity' ? 'identity (before)' : 'br, gzip (after)',
    'bytes': kb(median(runs.map(r => r.bytes))),
    'requests': median(runs.map(r => r.requests)),
    'compressed responses': median(runs.map(r => r.compressed)),
    'time to cards': `${(median(runs.map(r => r.toCards)) / 1000).toFixed(2)} s`,
    'time to hydrated': `${(median(runs.map(r => r.toHydrated)) / 1000).toFixed(2)} s`,
    'time to load': `${(median(runs.map(r => r.toLoad)) / 1000).toFixed(2)} s`,
  })
}
console.log(`Board with ${TASKS} cards, 390×844 touch, CPU ×4, Fast 3G, empty cache; median of ${RUNS} runs each`)
console.table(rows)
const pre = precacheBytes()
console.log(`Service worker precache after the first load: ${pre.files} files, ${kb(pre.raw)} raw, ${kb(pre.br)} as brotli`)
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`)
await browser.close()
process.exit(0)
