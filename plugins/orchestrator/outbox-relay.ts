// The outbox relay, run by every owning process: publishes the events a process stored but did not
// get onto the bus (it was killed between commit and publish, or the bus was down), so every committed
// transition reaches the bus at least once. Polled; a full batch is followed at once by the next.
import type { Logger } from 'pino'
import { systemClock, type Clock, type Timer } from '../../core/clock.js'
import type { Worker } from '../../core/plugin.js'
import type { Outbox } from './outbox.js'

export interface OutboxRelayDeps {
  outbox: Outbox
  log: Logger
  clock?: Clock
  pollMs: number
  /**
   * How old a stored event must be before the relay takes it: the process that made it publishes it
   * itself within this time unless it died or the bus was down (then both may: at least once).
   */
  graceMs: number
}

/** Stored events published per relay statement. */
const BATCH = 500

export class OutboxRelay implements Worker {
  readonly name = 'orchestrator-outbox'
  private readonly clock: Clock
  private timer: Timer | undefined
  private running: Promise<void> | null = null

  constructor(private readonly deps: OutboxRelayDeps) {
    this.clock = deps.clock ?? systemClock
  }

  start(): void {
    this.timer = this.clock.setInterval(() => this.kick(), this.deps.pollMs)
    this.kick()
  }

  async stop(): Promise<void> {
    this.clock.clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  private kick(): void {
    this.running ??= this.drain()
      .catch((err: unknown) => this.deps.log.warn({ err }, 'outbox relay failed; retrying at the next poll'))
      .finally(() => (this.running = null))
  }

  private async drain(): Promise<void> {
    // A full batch may have more behind it.
    let full = true
    while (full && this.timer !== undefined) full = (await this.deps.outbox.relay(this.deps.graceMs, BATCH)) === BATCH
  }
}
