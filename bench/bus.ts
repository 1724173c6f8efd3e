// `npm run bench:bus`: publish-to-handler throughput and latency of the Redis bus and the
// in-process bus. Throughput: publish as fast as possible until the handler has every event.
// Latency: publish at a fixed 10,000 events/s and measure from each event's scheduled time.
import hdr from 'hdr-histogram-js'
import { pino } from 'pino'
import { MemoryBus, RedisBus, type Bus } from '../core/bus/index.js'
import { printTable } from './table.js'
import { createRedisFactory } from '../core/redis.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const THROUGHPUT_EVENTS = 200_000
const RATE = 10_000
const LATENCY_SECONDS = 5
const log = pino({ level: 'warn' })

async function throughput(bus: Bus, channel: string): Promise<number> {
  let received = 0
  let done!: () => void
  const all = new Promise<void>((resolve) => (done = resolve))
  await bus.subscribe(channel, () => {
    if (++received === THROUGHPUT_EVENTS) done()
  })
  const payload = { metric: 'harmony', value: 0.5, note: 'x'.repeat(120) }
  const started = performance.now()
  // Keep a bounded window of publishes in flight, as a busy producer would.
  const WINDOW = 1000
  let inFlight: Promise<unknown>[] = []
  for (let i = 0; i < THROUGHPUT_EVENTS; i++) {
    inFlight.push(bus.publish(channel, 'bench.event', payload))
    if (inFlight.length === WINDOW) {
      await Promise.all(inFlight)
      inFlight = []
    }
  }
  await Promise.all(inFlight)
  await all
  return THROUGHPUT_EVENTS / ((performance.now() - started) / 1000)
}

async function latency(bus: Bus, channel: string): Promise<hdr.Histogram> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
  const total = RATE * LATENCY_SECONDS
  let received = 0
  let done!: () => void
  const all = new Promise<void>((resolve) => (done = resolve))
  await bus.subscribe(channel, (event) => {
    const scheduled = (event.data as { at: number }).at
    histogram.recordValue(Math.max(1, Math.round((performance.now() + performance.timeOrigin - scheduled) * 1000)))
    if (++received === total) done()
  })
  const start = performance.now() + performance.timeOrigin
  let sent = 0
  // Every millisecond, publish what the schedule says is due (10 per ms), stamped with its due time.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now() + performance.timeOrigin
      const due = Math.min(total, Math.floor(((now - start) / 1000) * RATE))
      for (; sent < due; sent++) {
        void bus.publish(channel, 'bench.event', { at: start + (sent / RATE) * 1000 })
      }
      if (sent === total) {
        clearInterval(timer)
        resolve()
      }
    }, 1)
  })
  await all
  return histogram
}

const rows: (string | number)[][] = []
for (const kind of ['redis', 'memory'] as const) {
  const prefix = `bench:${process.pid}:`
  const make = async (): Promise<Bus> => {
    if (kind === 'memory') return new MemoryBus({ historyLen: 1000, source: 'bench', log })
    const bus = new RedisBus({ redis: createRedisFactory(REDIS_URL, log), prefix, historyLen: 1000, source: 'bench', log })
    await bus.connected()
    return bus
  }
  const a = await make()
  const perSecond = await throughput(a, 'throughput')
  await a.close()
  const b = await make()
  const h = await latency(b, 'latency')
  await b.close()
  if (kind === 'redis') {
    const { Redis } = await import('ioredis')
    const admin = new Redis(REDIS_URL)
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length) await admin.del(...keys)
    admin.disconnect()
  }
  const ms = (us: number) => (us / 1000).toFixed(3)
  rows.push([kind, Math.round(perSecond).toLocaleString('en-US'), ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(99)), ms(h.getValueAtPercentile(99.9)), ms(h.maxValue)])
}
printTable(
  `Bus: publish-to-handler (${THROUGHPUT_EVENTS.toLocaleString('en-US')} events for throughput; latency at ${RATE.toLocaleString('en-US')} events/s for ${LATENCY_SECONDS} s)`,
  ['bus', 'events/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
  rows
)
console.log('Targets (Redis bus): at least 50,000 events/s; p99 under 5 ms at 10,000 events/s.')
