// The bus's Prometheus metrics (`helix_bus_*`): publish round trips and batch sizes, events by base
// channel, subscriber reconnects, and history reads by how they ended (a gap repaired, or not
// because the history was trimmed or lost). Bumped once per batch or read, never per subscriber.
import { Counter, Histogram, type Registry } from 'prom-client'
import { baseOf, isChannel } from '../bus/types.js'

/** How a history read with a position ended: `recovered` repaired a gap (or found none). */
export type HistoryOutcome = 'recovered' | 'trimmed' | 'epoch_changed' | 'too_far'

export interface BusMetrics {
  /** One publish script call (or in-process append) of `channels`, one entry per event, that took `seconds`. */
  batchPublished(channels: readonly string[], seconds: number, failed: boolean): void
  reconnected(): void
  /** A history read from a position: how it ended and how many missed events it returned. */
  historyRead(outcome: HistoryOutcome, events: number): void
}

/** A channel as a bounded label: its base channel, `other` for anything outside the contract's list. */
export function channelLabel(channel: string): string {
  const base = baseOf(channel) ?? channel
  return isChannel(base) ? base : 'other'
}

export function createBusMetrics(registry: Registry, bus: 'redis' | 'memory'): BusMetrics {
  const registers = [registry]
  const publishDuration = new Histogram({
    name: 'helix_bus_publish_duration_seconds',
    help: 'Time of one publish batch: the Redis script round trip (history append and publish), by bus kind and result',
    labelNames: ['bus', 'result'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers
  })
  const batchSize = new Histogram({
    name: 'helix_bus_publish_batch_size',
    help: 'Events carried by one publish batch (publishes of one tick share a script call)',
    labelNames: ['bus'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers
  })
  const published = new Counter({
    name: 'helix_bus_events_published_total',
    help: 'Events this process published, by base channel and result',
    labelNames: ['channel', 'result'] as const,
    registers
  })
  const reconnects = new Counter({ name: 'helix_bus_reconnects_total', help: 'Times the bus subscriber connection came back after being lost', registers })
  const historyReads = new Counter({
    name: 'helix_bus_history_reads_total',
    help: 'History reads from a position (reconnects, `since`), by outcome: recovered, trimmed (past HELIX_HISTORY_LEN), epoch_changed (history lost), too_far (gap over the limit)',
    labelNames: ['outcome'] as const,
    registers
  })
  const gapEvents = new Counter({
    name: 'helix_bus_gap_events_recovered_total',
    help: 'Missed events returned by history reads (gaps repaired)',
    registers
  })
  publishDuration.zero({ bus, result: 'ok' })
  reconnects.inc(0)
  return {
    batchPublished(channels, seconds, failed) {
      const result = failed ? 'error' : 'ok'
      publishDuration.observe({ bus, result }, seconds)
      batchSize.observe({ bus }, channels.length)
      const counts = new Map<string, number>()
      for (const channel of channels) {
        const label = channelLabel(channel)
        counts.set(label, (counts.get(label) ?? 0) + 1)
      }
      for (const [channel, count] of counts) published.inc({ channel, result }, count)
    },
    reconnected: () => reconnects.inc(),
    historyRead(outcome, events) {
      historyReads.inc({ outcome })
      if (events > 0) gapEvents.inc(events)
    }
  }
}
