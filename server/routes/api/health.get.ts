import { defineEventHandler, setHeader } from 'h3'

// Liveness: the process answers. No dependency is checked (that is /api/ready), so a database
// outage never gets healthy instances restarted.
export default defineEventHandler((event) => {
  setHeader(event, 'cache-control', 'no-store')
  return { status: 'ok' }
})
