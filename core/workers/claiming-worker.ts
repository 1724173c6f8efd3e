// The loop of a worker that takes its work from a database queue by claiming rows with a lease
// (orchestrator commands and rituals, Zapier deliveries): claim, run, claim again, never over capacity.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { systemClock, type Clock, type Timer } from '../clock.js'
import type { Worker } from '../plugin.js'

/** A name for this process's claims (a lease owner): unique per process start. */
export function ownerId(): string {
  return `${hostname().slice(0, 32)}:${process.pid}:${randomBytes(3).toString('hex')}`
}

/** A job run every `everyMs` while the worker is started: a backstop poll, lease renewal. */
export interface PeriodicJob {
  everyMs: number
  run(): void
}

export interface ClaimingWorkerOptions {
  log: Logger
  /** Items run at once by this process. */
  concurrency: number
  /** Runs the periodic jobs (and whatever timers a subclass sets); the system clock by default. */
  clock?: Clock
}

/**
 * Claims as many items as there are free slots, runs each, and claims again whenever one finishes
 * or someone calls kick() (new work announced on the bus); kicks while a claim is in flight fold
 * into one more round. An item may hand its slot straight to a next item it claimed itself
 * (execute() returns it), so a busy queue costs one claim per item, not two. stop() takes no new
 * work and resolves when the items in flight have finished.
 *
 * A subclass says how to claim (claim), name (idOf) and run (execute) an item, and which periodic
 * jobs to run (periodic: at least a backstop poll that kicks, since a bus event can be missed).
 */
export abstract class ClaimingWorker<T> implements Worker {
  abstract readonly name: string
  /** Items running here, by id, each with the controller that aborts it (a cancel, a deadline). */
  protected readonly running = new Map<string, AbortController>()
  /** False once stopping: no new claims, and items no longer hand their slot to a next one. */
  protected started = false
  protected readonly log: Logger
  protected readonly clock: Clock
  private readonly concurrency: number
  private readonly inflight = new Set<Promise<void>>()
  private timers: Timer[] = []
  private claiming: Promise<void> | null = null
  private again = false

  constructor(options: ClaimingWorkerOptions) {
    this.log = options.log
    this.concurrency = options.concurrency
    this.clock = options.clock ?? systemClock
  }

  /** Claims at most `free` items for this process. */
  protected abstract claim(free: number): Promise<T[]>
  protected abstract idOf(item: T): string
  /**
   * Runs one item to its recorded end; `controller` aborts it. Returns the item to run next in the
   * same slot, already claimed, or null.
   */
  protected abstract execute(item: T, controller: AbortController): Promise<T | null>
  /** The jobs to run on the clock while started. */
  protected abstract periodic(): PeriodicJob[]
  /** Runs before the first claim (e.g. subscribe to the bus, reap what a dead process left). */
  protected async beforeStart(): Promise<void> {}
  /** Runs once stopping, before waiting for the items in flight (e.g. unsubscribe). */
  protected async beforeDrain(): Promise<void> {}

  async start(): Promise<void> {
    this.started = true
    await this.beforeStart()
    this.timers = this.periodic().map((job) => this.clock.setInterval(job.run, job.everyMs))
    this.kick()
  }

  async stop(): Promise<void> {
    this.started = false
    for (const timer of this.timers) this.clock.clearInterval(timer)
    this.timers = []
    await this.beforeDrain()
    await this.claiming
    await Promise.all(this.inflight)
  }

  /** Claims now if there is room (or once more after the claim in flight). */
  kick(): void {
    if (!this.started) return
    if (this.claiming) {
      this.again = true
      return
    }
    this.claiming = this.claimLoop().finally(() => {
      this.claiming = null
      // A kick that came after the loop's last look would otherwise wait for the next poll.
      if (this.again) this.kick()
    })
  }

  private async claimLoop(): Promise<void> {
    do {
      this.again = false
      const free = this.concurrency - this.running.size
      if (free <= 0) return
      try {
        const items = await this.claim(free)
        for (const item of items) this.launch(item)
        if (items.length > 0) this.again = true
      } catch (err) {
        this.log.warn({ err, worker: this.name }, 'claim failed')
        return
      }
    } while (this.again && this.started)
  }

  private launch(first: T): void {
    const run = (async () => {
      for (let item: T | null = first; item; ) {
        const id = this.idOf(item)
        const controller = new AbortController()
        this.running.set(id, controller)
        try {
          item = await this.execute(item, controller)
        } catch (err) {
          this.log.error({ err, worker: this.name, id }, 'run failed')
          item = null
        } finally {
          this.running.delete(id)
        }
      }
    })()
    this.inflight.add(run)
    void run.finally(() => {
      this.inflight.delete(run)
      this.kick()
    })
  }
}
