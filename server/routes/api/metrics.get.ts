import { useEnv } from '../../utils/env'
import { createMetricsHandler, useMetrics } from '../../utils/metrics'

export default createMetricsHandler({
  token: () => useEnv().METRICS_TOKEN,
  registry: () => useMetrics().registry,
})
