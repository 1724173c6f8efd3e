// Prometheus metrics of the stream plugin, registered on the kernel's registry. Counters are bumped
// once per bus event (with the fan-out count), never once per socket.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface StreamMetrics {
  connections: Gauge
  subscriptions: Gauge<'channel'>
  eventsIn: Counter
  eventsOut: Counter
  bytesOut: Counter
  closes: Counter<'reason'>
  publishToSend: Histogram
}

export function createStreamMetrics(registry: Registry, subscriptionCounts: () => Map<string, number>): StreamMetrics {
  const registers = [registry]
  return {
    connections: new Gauge({ name: 'helix_stream_connections', help: 'Open WebSocket connections', registers }),
    subscriptions: new Gauge({
      name: 'helix_stream_subscriptions',
      help: 'Local subscribers by channel',
      labelNames: ['channel'] as const,
      registers,
      collect() {
        this.reset()
        for (const [channel, count] of subscriptionCounts()) this.set({ channel }, count)
      }
    }),
    eventsIn: new Counter({ name: 'helix_stream_events_in_total', help: 'Events received from the bus', registers }),
    eventsOut: new Counter({ name: 'helix_stream_events_out_total', help: 'Event frames written to sockets', registers }),
    bytesOut: new Counter({ name: 'helix_stream_bytes_out_total', help: 'Bytes of event frames written to sockets', registers }),
    closes: new Counter({
      name: 'helix_stream_dropped_sockets_total',
      help: 'Sockets the server closed: slow_consumer (4008), heartbeat (silent peer), token_expired (4001)',
      labelNames: ['reason'] as const,
      registers
    }),
    publishToSend: new Histogram({
      name: 'helix_stream_publish_to_send_seconds',
      help: 'From the bus publish time of an event to the end of its fan-out in this process',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers
    })
  }
}
