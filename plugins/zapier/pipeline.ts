// The inbound pipeline (DESIGN section 11): a consumer of the work queue in every owning replica.
// Each entry's row is claimed with a lease, its handler run, and the row ends `processed` or `failed`
// before the entry is acknowledged. Entries a dead consumer held are taken over (XAUTOCLAIM); rows the
// queue lost (Redis restarted empty, a failed push) are put back on it by a sweep.
import type { Logger } from 'pino'
import type { Clock, Timer } from '../../core/clock.js'
import type { Worker } from '../../core/plugin.js'
import type { EventStore, InboundEvent } from './event-store.js'
import { isPermanent, storeGeneric, type Handler } from './handlers.js'
import type { Inbox } from './inbox.js'
import type { QueueEntry, WorkQueue } from './work-queue.js'
import type { ZapierSignals } from './zapier-events.js'

export interface PipelineOptions {
  concurrency: number
  /** How long a run may hold its event before another consumer may take it over. */
  leaseMs: number
  /** How long an entry stays unacknowledged before another consumer claims it (a dead consumer, a retry). */
  reclaimIdleMs: number
  /** How often to reclaim and sweep. */
  sweepMs: number
  /** A `received` row enqueued longer ago than this is put on the queue again by the periodic sweep. */
  staleMs: number
  /** Deliveries of one event before it is dead-lettered. */
  maxDeliveries: number
  blockMs: number
}

export const defaultPipelineOptions: PipelineOptions = {
  concurrency: 32,
  leaseMs: 60_000,
  reclaimIdleMs: 60_000,
  sweepMs: 5000,
  staleMs: 300_000,
  maxDeliveries: 5,
  blockMs: 1000
}

export interface PipelineDeps {
  queue: WorkQueue
  store: EventStore
  inbox: Inbox
  handlers: Record<string, Handler>
  signals: ZapierSignals
  clock: Clock
  log: Logger
  consumer: string
  options: PipelineOptions
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

export class InboundPipeline implements Worker {
  readonly name = 'zapier-pipeline'
  private running = false
  private reader: Promise<void> | null = null
  private readonly inflight = new Set<Promise<void>>()
  private timer: Timer | undefined
  /** Set when the queue lost its data: the next sweep puts every unprocessed row back. */
  private sweepAll = true
  private sweeping = false
  private stopLost: (() => void) | null = null

  constructor(private readonly deps: PipelineDeps) {}

  start(): void {
    this.running = true
    this.sweepAll = true
    this.stopLost = this.deps.queue.onLost(() => {
      this.sweepAll = true
      void this.tick()
    })
    this.timer = this.deps.clock.setInterval(() => void this.tick(), this.deps.options.sweepMs)
    void this.tick()
    this.reader = this.readLoop()
  }

  async stop(): Promise<void> {
    this.running = false
    this.deps.clock.clearInterval(this.timer)
    this.stopLost?.()
    await this.reader
    await Promise.all(this.inflight)
  }

  /** Reclaims entries idle too long, and puts stranded rows back on the queue. */
  async tick(): Promise<void> {
    if (!this.running || this.sweeping) return
    this.sweeping = true
    const { queue, store, inbox, clock, log, consumer, options } = this.deps
    try {
      const free = options.concurrency - this.inflight.size
      if (free > 0) for (const entry of await queue.reclaim(consumer, options.reclaimIdleMs, free)) this.launch(entry)
      const all = this.sweepAll || inbox.queueMissed
      this.sweepAll = false
      inbox.queueMissed = false
      const now = clock.now()
      let ids: string[]
      do {
        ids = await store.takeStranded(all ? now : now - options.staleMs, now, 500)
        for (const id of ids) await queue.add(id)
        if (ids.length > 0) log.info({ events: ids.length }, 'put stranded inbound events back on the queue')
      } while (ids.length === 500 && this.running)
    } catch (err) {
      // Redis or the database is away: sweep everything once they are back.
      this.sweepAll = true
      log.warn({ err: (err as Error).message }, 'zapier pipeline sweep failed')
    } finally {
      this.sweeping = false
    }
  }

  private async readLoop(): Promise<void> {
    const { queue, consumer, options, log } = this.deps
    while (this.running) {
      const free = options.concurrency - this.inflight.size
      if (free <= 0) {
        await Promise.race(this.inflight)
        continue
      }
      try {
        for (const entry of await queue.read(consumer, free, options.blockMs)) this.launch(entry)
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'reading the zapier work queue failed; retrying')
        this.sweepAll = true
        await pause(500)
      }
    }
  }

  private launch(entry: QueueEntry): void {
    const run = this.runEntry(entry).catch((err: Error) => {
      // A run that could not even record its outcome (the database went away mid-run) leaves its row for
      // the next sweep, which puts every unfinished row back on the queue, rather than for the stale sweep.
      this.sweepAll = true
      this.deps.log.warn({ err: err.message, eventId: entry.eventId }, 'zapier event run failed; it will be retried')
    })
    this.inflight.add(run)
    void run.finally(() => this.inflight.delete(run))
  }

  private async runEntry(entry: QueueEntry): Promise<void> {
    const { store, queue, clock, options } = this.deps
    const event = await store.claim(entry.eventId, clock.now(), options.leaseMs)
    if (!event) {
      // Done already, unknown, or held by a live run elsewhere (whose own entry stays pending): this copy is spare.
      const row = await store.get(entry.eventId)
      if (!row || row.status !== 'processing') await queue.ack(entry.entryId)
      return
    }
    await this.execute(event, entry)
  }

  private async execute(event: InboundEvent, entry: QueueEntry): Promise<void> {
    const { store, queue, handlers, signals, clock, log, options } = this.deps
    const handler = Object.hasOwn(handlers, event.type) ? handlers[event.type]! : storeGeneric
    try {
      const result = await handler(event)
      await store.finish(event.id, { status: 'processed', result }, clock.now())
      signals.pipeline.inc({ outcome: 'processed' })
      signals.publish('zapier.processed', { id: event.id, source: event.source, type: event.type, result })
    } catch (err) {
      const message = (err as Error).message || String(err)
      const lastTry = event.attempts >= options.maxDeliveries
      if (!isPermanent(err) && !lastTry) {
        // Left unacknowledged: the entry comes back through XAUTOCLAIM once it has been idle long enough.
        await store.release(event.id, message)
        signals.pipeline.inc({ outcome: 'retried' })
        log.info({ eventId: event.id, attempt: event.attempts, err: message }, 'zapier event will be retried')
        return
      }
      const error = lastTry && !isPermanent(err) ? `gave up after ${event.attempts} deliveries: ${message}` : message
      await store.finish(event.id, { status: 'failed', error }, clock.now())
      if (lastTry) await queue.deadLetter(event.id, error)
      signals.pipeline.inc({ outcome: 'failed' })
      signals.publish('zapier.failed', { id: event.id, source: event.source, type: event.type, error })
    }
    await queue.ack(entry.entryId)
  }
}
