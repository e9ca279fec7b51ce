// @ts-check
// Object.groupBy arrived in Node 21; eslint-flat-config-utils uses it. Node 20.19 is supported here.
if (!Object.groupBy) {
  Object.groupBy = (items, key) => {
    const groups = Object.create(null)
    let i = 0
    for (const item of items) (groups[key(item, i++)] ??= []).push(item)
    return groups
  }
}
const { default: withNuxt } = await import('./.nuxt/eslint.config.mjs')

export default withNuxt(
  { ignores: ['server/generated/**', '.data/**', 'coverage/**', 'tests/load/**'] },
)
