// The plugin's events on the `zapier` channel (DESIGN section 6) and its Prometheus metrics:
// inbound answers and pipeline outcomes by outcome, deliveries by outcome, delivery latency, and
// the depth of the inbound and outbound queues (from the database, at most once a second).
import type { Logger } from 'pino'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Bus } from '../../core/bus/types.js'
import type { Sql } from './sql.js'

/** Inbound answers given before the handler runs: by the body parser or the rate limit. */
const EARLY_OUTCOMES: Readonly<Record<number, string>> = { 413: 'too_large', 415: 'unsupported_type', 429: 'rate_limited' }
/** How long one read of the queue depths answers scrapes. */
const DEPTH_TTL_MS = 1000

interface QueueDepths {
  inbound: number
  inboundOldestSeconds: number
  outbound: number
}

export type ZapierEventType = 'zapier.received' | 'zapier.processed' | 'zapier.failed' | 'zapier.delivered'

export class ZapierSignals {
  readonly inbound: Counter<'outcome'>
  readonly pipeline: Counter<'outcome'>
  readonly deliveries: Counter<'outcome'>
  readonly deliveryLatency: Histogram<'outcome'>

  constructor(private readonly bus: Bus, private readonly registry: Registry, private readonly log: Logger) {
    this.inbound = new Counter({
      name: 'helix_zapier_inbound_total',
      help: 'Inbound webhooks by answer: queued, duplicate, unknown_source, unauthorized, invalid, too_large, unsupported_type, rate_limited, unavailable',
      labelNames: ['outcome'],
      registers: [registry]
    })
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

  /** Counts an inbound answer the handler never saw (413, 415, 429); other statuses were counted where they were decided. */
  answeredEarly(statusCode: number): void {
    const outcome = EARLY_OUTCOMES[statusCode]
    if (outcome) this.inbound.inc({ outcome })
  }

  /** Queue depths from the database at scrape time, read at most once a second. */
  measureQueues(sql: Sql): void {
    let last: { at: number; value: Promise<QueueDepths | null> } | null = null
    const depths = () => {
      if (last && Date.now() - last.at < DEPTH_TTL_MS) return last.value
      const value = readQueueDepths(sql).catch((err: unknown) => {
        this.log.warn({ err }, 'zapier metrics: could not read the queue depths')
        return null
      })
      last = { at: Date.now(), value }
      return value
    }
    new Gauge({
      name: 'helix_zapier_queue_depth',
      help: 'Work waiting: inbound events not yet processed (received or processing), outbound deliveries pending or sending',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        const d = await depths()
        if (!d) return
        this.set({ queue: 'inbound' }, d.inbound)
        this.set({ queue: 'outbound' }, d.outbound)
      }
    })
    new Gauge({
      name: 'helix_zapier_inbound_oldest_age_seconds',
      help: 'Age of the oldest inbound event not yet processed (0: none waiting)',
      registers: [this.registry],
      async collect() {
        const d = await depths()
        if (d) this.set(d.inboundOldestSeconds)
      }
    })
  }

  /** Publishes on `zapier` without holding the caller up: a lost event costs a feed line, never the work. */
  publish(type: ZapierEventType, data: Record<string, unknown>): void {
    this.bus.publish('zapier', type, data).catch((err: Error) => this.log.warn({ err: err.message, type }, 'could not publish a zapier event'))
  }
}

async function readQueueDepths(sql: Sql): Promise<QueueDepths> {
  const [inbound, outbound] = await Promise.all([
    sql.one<{ count: string | number; oldest: string | number | null }>(
      `SELECT COUNT(*) AS count, MIN(received_at) AS oldest FROM zapier_events WHERE status IN ('received', 'processing')`
    ),
    sql.one<{ count: string | number }>(`SELECT COUNT(*) AS count FROM zapier_deliveries WHERE status IN ('pending', 'sending')`)
  ])
  const oldest = inbound?.oldest === null || inbound?.oldest === undefined ? null : Number(inbound.oldest)
  return {
    inbound: Number(inbound?.count ?? 0),
    inboundOldestSeconds: oldest === null ? 0 : Math.max(0, Date.now() - oldest) / 1000,
    outbound: Number(outbound?.count ?? 0)
  }
}
