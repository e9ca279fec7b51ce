// axe-core in the test browser: scan what a page shows now, in the light and the dark theme.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export type Theme = 'light' | 'dark'
export const themes: Theme[] = ['light', 'dark']

/** What fails the scan: axe's two highest impacts. */
const failingImpacts = new Set(['serious', 'critical'])

interface AxeNode { target: unknown[], failureSummary?: string, html: string }
interface AxeViolation { id: string, impact: string | null, help: string, helpUrl: string, nodes: AxeNode[] }

/**
 * Runs axe-core on `page` in each theme (switched the way the app does it: `html[data-theme]`) and
 * returns one readable line block per serious or critical violation, named by `where` and the theme.
 * Scans the whole document, so whatever dialog, menu or panel is open is part of it.
 */
export async function axeViolations(page: Page, where: string, scanThemes: Theme[] = themes): Promise<string[]> {
  // Transitions would let axe read colours halfway between two states.
  await page.emulateMedia({ reducedMotion: 'reduce' })
  // Evaluated over the DevTools protocol: the app's Content-Security-Policy does not apply to it.
  if (!await page.evaluate(() => 'axe' in window)) await page.evaluate(axeSource)
  const before = await page.evaluate(() => document.documentElement.dataset.theme ?? null)
  const found: string[] = []
  for (const theme of scanThemes) {
    await page.evaluate((t) => {
      document.documentElement.dataset.theme = t
    }, theme)
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: unknown[] }> } }).axe
      const result = await axe.run(document, { resultTypes: ['violations'] })
      return result.violations
    }) as AxeViolation[]
    for (const v of violations.filter(v => failingImpacts.has(v.impact ?? ''))) {
      const nodes = v.nodes.slice(0, 5).map(n => `    at ${n.target.join(' ')}\n      ${(n.failureSummary ?? '').replaceAll('\n', '\n      ')}\n      ${n.html.slice(0, 200)}`)
      const more = v.nodes.length > 5 ? `\n    … and ${v.nodes.length - 5} more` : ''
      found.push(`[${where}, ${theme}] ${v.impact} ${v.id}: ${v.help} (${v.helpUrl})\n${nodes.join('\n')}${more}`)
    }
  }
  await page.evaluate((t) => {
    if (t) document.documentElement.dataset.theme = t
    else delete document.documentElement.dataset.theme
  }, before)
  return found
}

/**
 * Collects the violations of several scans of one test, so a single run reports all of them;
 * `assertNone()` fails with every one printed.
 */
export function axeReport() {
  const all: string[] = []
  return {
    async scan(page: Page, where: string, scanThemes: Theme[] = themes) {
      all.push(...await axeViolations(page, where, scanThemes))
    },
    assertNone() {
      if (all.length) throw new Error(`${all.length} serious or critical accessibility violation(s):\n\n${all.join('\n\n')}`)
    },
  }
}
