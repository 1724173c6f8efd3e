// Taking an inbound event in (DESIGN section 11): the row is committed before the answer, then its id
// goes on the work queue. The database is the store: when it fails, nothing was stored and the sender
// gets 503; when only the queue fails, the event is stored, answered 202, and the pipeline's sweep
// puts it on the queue later.
import type { Logger } from 'pino'
import type { Clock } from '../../core/clock.js'
import { errors } from '../../core/errors.js'
import type { EventStore } from './event-store.js'
import type { WorkQueue } from './work-queue.js'
import type { ZapierSignals } from './zapier-events.js'

export type Intake = { status: 'queued'; eventId: string } | { status: 'duplicate' }

export class Inbox {
  /**
   * Set when a row may be stored but not queued (a push to the queue failed, or the INSERT's answer was
   * lost with the database): the pipeline sweeps every unqueued row at its next tick.
   */
  queueMissed = false

  constructor(
    private readonly store: EventStore,
    private readonly queue: WorkQueue,
    private readonly signals: ZapierSignals,
    private readonly clock: Clock,
    private readonly log: Logger
  ) {}

  async take(input: { source: string; externalId: string | null; type: string; data: unknown }): Promise<Intake> {
    let id: string | null
    try {
      id = await this.store.receive({ ...input, now: this.clock.now() })
    } catch (err) {
      // The INSERT may have committed before the connection dropped: its row would wait for the stale sweep.
      this.queueMissed = true
      this.log.warn({ err: (err as Error).message }, 'could not store an inbound event')
      this.signals.inbound.inc({ outcome: 'unavailable' })
      throw errors.unavailable('The event store is unavailable; nothing was stored, retry shortly', 5)
    }
    if (id === null) {
      this.signals.inbound.inc({ outcome: 'duplicate' })
      return { status: 'duplicate' }
    }
    // Stored: the answer does not wait for the queue (a failed push is swept onto it later).
    this.queue.add(id).catch((err: Error) => {
      this.queueMissed = true
      this.log.warn({ err: err.message, eventId: id }, 'stored an inbound event but could not queue it; the sweep will')
    })
    this.signals.inbound.inc({ outcome: 'queued' })
    this.signals.publish('zapier.received', { id, source: input.source, type: input.type })
    return { status: 'queued', eventId: id }
  }

  /** Puts a stored event (a replay) on the queue; when the queue is away, the sweep does. */
  async requeue(id: string): Promise<void> {
    try {
      await this.queue.add(id)
    } catch {
      this.queueMissed = true
    }
  }
}
