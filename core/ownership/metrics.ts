// The ownership gate's own figures: what became of requests for plugins this process does not own,
// and how many live processes could own each plugin.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { LiveOwners } from './live-owners.js'

export type ProxyResult = 'proxied' | 'local' | 'fallback' | 'unavailable'

export interface OwnershipMetrics {
  proxied: Counter<'plugin' | 'transport' | 'outcome'>
  retries: Counter<'plugin'>
  notOwner: Counter<'plugin'>
}

const byRegistry = new WeakMap<Registry, OwnershipMetrics>()

/** One set per registry: every plugin's gate shares it. */
export function ownershipMetrics(registry: Registry): OwnershipMetrics {
  let metrics = byRegistry.get(registry)
  if (metrics) return metrics
  metrics = {
    proxied: new Counter({
      name: 'helix_ownership_proxied_requests_total',
      help: 'Requests for a plugin this process does not own, by what became of them: proxied to the owner, served here after the owner let go (local), read served here while the owner could not (fallback), or answered 503 (unavailable)',
      labelNames: ['plugin', 'transport', 'outcome'] as const,
      registers: [registry]
    }),
    retries: new Counter({
      name: 'helix_ownership_proxy_retries_total',
      help: 'Proxied requests sent again because the owner answered not_owner or refused the connection (a flip in progress)',
      labelNames: ['plugin'] as const,
      registers: [registry]
    }),
    notOwner: new Counter({
      name: 'helix_ownership_not_owner_total',
      help: 'not_owner answers this process gave (a request for a plugin it does not own)',
      labelNames: ['plugin'] as const,
      registers: [registry]
    })
  }
  byRegistry.set(registry, metrics)
  return metrics
}

/** Ready live processes that could own each plugin, by kind (all: a monolith; dedicated: the plugin's service). */
export function liveOwnerGauge(registry: Registry, owners: LiveOwners, plugins: readonly string[]): void {
  new Gauge({
    name: 'helix_ownership_live_owners',
    help: 'Ready processes announced that could own the plugin, by kind',
    labelNames: ['plugin', 'kind'] as const,
    registers: [registry],
    collect() {
      for (const plugin of plugins) {
        this.set({ plugin, kind: 'all' }, owners.readyCount(plugin, 'all'))
        this.set({ plugin, kind: 'dedicated' }, owners.readyCount(plugin, 'dedicated'))
      }
    }
  })
}
