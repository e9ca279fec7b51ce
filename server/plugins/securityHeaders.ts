import { setResponseHeader } from 'h3'
import { defineNitroPlugin } from 'nitropack/runtime'
import { useEnv } from '../utils/env'
import { HSTS_VALUE, socketOrigins, wantsHsts } from '../utils/securityHeaders'

interface CspRules {
  headers?: false | { contentSecurityPolicy?: false | Record<string, string[] | string | boolean> }
}

// nuxt-security builds the headers at build time (nuxt.config.ts); the parts that depend on where
// this build runs are added here, at start: one build serves http test servers and https deployments.
export default defineNitroPlugin((nitroApp) => {
  const env = useEnv()
  const https = wantsHsts(env)

  // On every response (API and assets too), before any handler writes headers.
  if (https) nitroApp.hooks.hook('request', event => setResponseHeader(event, 'strict-transport-security', HSTS_VALUE))

  nitroApp.hooks.hook('nuxt-security:routeRules', (routeRules: Record<string, CspRules>) => {
    const csp = routeRules['/**']?.headers && routeRules['/**'].headers.contentSecurityPolicy
    if (!csp) return
    const connect = Array.isArray(csp['connect-src']) ? csp['connect-src'] : []
    csp['connect-src'] = [...new Set([...connect, ...socketOrigins(env)])]
    csp['upgrade-insecure-requests'] = https
  })
})
