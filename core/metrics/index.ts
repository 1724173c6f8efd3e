// The kernel's own metrics beside the HTTP ones (core/metrics.ts): flags and ownership, readiness.
// The bus's are created with the bus (core/bus/index.ts), as it exists before the kernel.
import { Registry } from 'prom-client'
import type { LoadedPlugin, OwnershipGate } from '../ownership/index.js'
import type { Kernel, PluginDescriptor } from '../plugin.js'
import { registerFlagMetrics } from './flag-metrics.js'
import { registerReadinessGauge } from './readiness.js'

export { createBusMetrics, type BusMetrics } from './bus-metrics.js'

export interface KernelMetricsDeps {
  kernel: Kernel
  gate: OwnershipGate
  descriptors: readonly PluginDescriptor[]
  /** The loaded plugins; filled while the app boots, read at scrape time. */
  plugins: readonly LoadedPlugin[]
}

export function registerKernelMetrics({ kernel, gate, descriptors, plugins }: KernelMetricsDeps): void {
  registerFlagMetrics(kernel.metrics, kernel.flags, gate, descriptors)
  registerReadinessGauge(kernel.metrics, kernel, gate, plugins)
}

/**
 * The process's registry. Every series carries the process's role (`all`, `orchestrator`, ...), so
 * one Prometheus job over every service can tell the monolith from the dedicated services.
 */
export function createRegistry(roles: readonly string[]): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ role: roles.join(',') })
  return registry
}
