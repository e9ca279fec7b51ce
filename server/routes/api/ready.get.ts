import { createReadyHandler, useReadiness } from '../../utils/readiness'

export default createReadyHandler(useReadiness)
