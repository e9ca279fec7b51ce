// Tests build their own services (server/container.ts) instead of swapping single globals.
import { createServices, installServices, type ServiceOverrides, type Services, type ServicesConfig } from '../../server/container'

/**
 * Builds services for a test (in process, default limits) with `overrides` (a Redis bus, a fixed
 * clock, a tight limiter …) and installs them; `restore()` puts the previous set back.
 */
export function installTestServices(overrides: ServiceOverrides = {}, config: ServicesConfig = {}): { services: Services, restore: () => void } {
  const services = createServices(config, overrides)
  return { services, restore: installServices(services) }
}
