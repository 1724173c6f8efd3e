// Readiness as a series, for the "replica not ready" alert: the parts GET /health/ready checks
// (bus, database, flags, each owned plugin), read at scrape time, and `all` for the whole answer.
import { Gauge, type Registry } from 'prom-client'
import type { LoadedPlugin, OwnershipGate } from '../ownership/index.js'
import type { Kernel } from '../plugin.js'

/** A probe that throws reads as not ready, like the health route's. */
async function probe(check: () => boolean | Promise<boolean>): Promise<boolean> {
  try {
    return await check()
  } catch {
    return false
  }
}

export function registerReadinessGauge(registry: Registry, kernel: Kernel, gate: OwnershipGate, plugins: readonly LoadedPlugin[]): void {
  new Gauge({
    name: 'helix_ready',
    help: 'Readiness as /health/ready sees it, by part: bus, database, flags, plugins (every owned plugin) and all',
    labelNames: ['part'] as const,
    registers: [registry],
    async collect() {
      const [bus, database, flags, ...owned] = await Promise.all([
        probe(() => kernel.bus.isReady()),
        probe(() => kernel.db.isReady()),
        probe(() => kernel.flags.isReady()),
        ...plugins.map(({ descriptor, instance }) => probe(() => !gate.owns(descriptor) || !instance.isReady || instance.isReady()))
      ])
      const parts = { bus, database, flags, plugins: owned.every(Boolean) }
      for (const [part, ok] of Object.entries(parts)) this.set({ part }, ok ? 1 : 0)
      this.set({ part: 'all' }, Object.values(parts).every(Boolean) ? 1 : 0)
    }
  })
}
