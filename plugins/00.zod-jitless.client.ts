import { z } from 'zod'

// zod 4 compiles object parsers with `new Function`, probing whether eval is allowed when an object
// schema is created; under the app's CSP (no 'unsafe-eval') the probe itself is a reported
// violation. The interpreted parser is functionally the same (docs/decisions/0007-security-headers.md).
// This runs when the module is evaluated — before any schema module — hence at the top level, in the
// first plugin (00.): setting it in a plugin's setup would come after the schemas already probed.
z.config({ jitless: true })

export default defineNuxtPlugin({ name: 'zod-jitless' })
