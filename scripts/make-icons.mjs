// Writes the PWA icons (public/icons/*.png) with node:zlib only: a board of three columns of cards
// on the accent colour. Run once after changing the design: `node scripts/make-icons.mjs`.
import { mkdirSync, writeFileSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

const ACCENT = [0x5e, 0x6a, 0xd2]
const CARD = [0xff, 0xff, 0xff]

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}
/** RGBA PNG from pixel(x, y) → [r, g, b, a]. */
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0 // filter: none
    for (let x = 0; x < size; x++) raw.set(pixel(x, y), y * (size * 4 + 1) + 1 + x * 4)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr.set([8, 6, 0, 0, 0], 8) // 8-bit RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))])
}

const inRoundRect = (x, y, x0, y0, x1, y1, r) => {
  if (x < x0 || x >= x1 || y < y0 || y >= y1) return false
  const cx = Math.min(Math.max(x, x0 + r), x1 - r)
  const cy = Math.min(Math.max(y, y0 + r), y1 - r)
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
}

/** Cards of three columns inside the unit square [0.2, 0.8]² (the maskable safe zone is the inner 80 %). */
const CARDS = [
  [0.2, 0.22, 0.37, 0.38], [0.2, 0.42, 0.37, 0.58], [0.2, 0.62, 0.37, 0.78],
  [0.415, 0.22, 0.585, 0.38], [0.415, 0.42, 0.585, 0.58],
  [0.63, 0.22, 0.8, 0.38],
]

function icon(size, { maskable }) {
  const pad = maskable ? 0 : 0.04 * size
  const radius = maskable ? 0 : 0.2 * size
  return png(size, (x, y) => {
    if (!inRoundRect(x, y, pad, pad, size - pad, size - pad, radius)) return [0, 0, 0, 0]
    const u = x / size
    const v = y / size
    const card = CARDS.some(([x0, y0, x1, y1]) => inRoundRect(u, v, x0, y0, x1, y1, 0.025))
    return [...(card ? CARD : ACCENT), 255]
  })
}

mkdirSync('public/icons', { recursive: true })
writeFileSync('public/icons/icon-192.png', icon(192, { maskable: false }))
writeFileSync('public/icons/icon-512.png', icon(512, { maskable: false }))
writeFileSync('public/icons/maskable-512.png', icon(512, { maskable: true }))
writeFileSync('public/icons/apple-touch-icon.png', icon(180, { maskable: true }))
console.log('public/icons: icon-192.png icon-512.png maskable-512.png apple-touch-icon.png')
