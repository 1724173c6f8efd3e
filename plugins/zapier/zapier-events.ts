// The plugin's events on the `zapier` channel (DESIGN section 6) and its Prometheus metrics:
// inbound answers and pipeline outcomes by outcome, deliveries by outcome, delivery latency.
import type { Logger } from 'pino'
import { Counter, Histogram, type Registry } from 'prom-client'
import type { Bus } from '../../core/bus/types.js'

export type ZapierEventType = 'zapier.received' | 'zapier.processed' | 'zapier.failed' | 'zapier.delivered'

export class ZapierSignals {
  readonly inbound: Counter<'outcome'>
  readonly pipeline: Counter<'outcome'>
  readonly deliveries: Counter<'outcome'>
  readonly deliveryLatency: Histogram<'outcome'>

  constructor(private readonly bus: Bus, registry: Registry, private readonly log: Logger) {
    this.inbound = new Counter({ name: 'helix_zapier_inbound_total', help: 'Inbound webhooks by answer', labelNames: ['outcome'], registers: [registry] })
    this.pipeline = new Counter({ name: 'helix_zapier_events_total', help: 'Inbound events run by the pipeline, by outcome', labelNames: ['outcome'], registers: [registry] })
    this.deliveries = new Counter({ name: 'helix_zapier_deliveries_total', help: 'Outbound delivery attempts by outcome', labelNames: ['outcome'], registers: [registry] })
    this.deliveryLatency = new Histogram({
      name: 'helix_zapier_delivery_duration_seconds',
      help: 'Time a delivery attempt took, request sent to answer read',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers: [registry]
    })
  }

  /** Publishes on `zapier` without holding the caller up: a lost event costs a feed line, never the work. */
  publish(type: ZapierEventType, data: Record<string, unknown>): void {
    this.bus.publish('zapier', type, data).catch((err: Error) => this.log.warn({ err: err.message, type }, 'could not publish a zapier event'))
  }
}
