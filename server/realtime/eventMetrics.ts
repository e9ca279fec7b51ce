/**
 * Counters of project events on this instance, for /api/metrics (plain numbers: the publish and
 * fan-out paths pay one increment each, prom-client reads them on scrape). They only grow.
 */
export const eventMetrics = {
  /** committed events this instance handed to the bus (in-process or Redis) */
  published: 0,
  /** events the bus delivered to a project that has caught-up sockets on this instance */
  fannedOut: 0,
  /** frames the direct fan-out wrote to sockets (one per event and subscribed socket) */
  framesWritten: 0,
}

export type EventMetrics = typeof eventMetrics

/** A copy of the counters (a metrics endpoint, tests). */
export function readEventMetrics(): EventMetrics {
  return { ...eventMetrics }
}
