// The orchestrator's workers, run only by the owning process (WorkerSupervisor): the command
// executor, the ritual runner and the UCF heartbeat. Woken by the bus, with a slow poll as backstop.
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Bus, BusEvent } from '../../core/bus/types.js'
import type { Worker } from '../../core/plugin.js'
import type { AlertService } from './alert-service.js'
import type { KnownCommand } from './command-handlers.js'
import type { Claimed, CommandQueue, Outcome } from './command-queue.js'
import type { Agent, Command } from './models.js'
import type { RitualService } from './ritual-service.js'
import type { UcfService } from './ucf-service.js'
import type { HandlerContext } from './command-handlers.js'

export interface WorkerOptions {
  /** Commands executed at once by this process (at most one per agent regardless). */
  concurrency: number
  /** How long a claim holds without renewal before another process may take the command back. */
  leaseMs: number
  /** Backstop poll for work and expired leases. */
  pollMs: number
  /** A queued command older than this raises the `commands.stale` alert. */
  staleQueueMs: number
  heartbeatMs: number
}

/** A name for this process's claims: unique per process start. */
export function ownerId(): string {
  return `${hostname().slice(0, 32)}:${process.pid}:${randomBytes(3).toString('hex')}`
}

class DeadlineExceeded extends Error {}

const every = (ms: number, run: () => void) => {
  const timer = setInterval(run, ms)
  timer.unref()
  return timer
}

type Handlers = Record<KnownCommand, (ctx: HandlerContext, args: never) => Promise<unknown>>

/**
 * The loop both queues share: claim as many items as there are free slots, run each, and claim
 * again whenever one finishes or someone kicks; calls while a claim is in flight fold into one more
 * round. An item may hand its slot straight to a next item (execute() returns it). stop() takes no
 * new work and resolves when the items in flight have finished.
 */
abstract class ClaimingWorker<T> implements Worker {
  abstract readonly name: string
  /** Items running here, by id, each with the controller that aborts it. */
  protected readonly running = new Map<string, AbortController>()
  private readonly inflight = new Set<Promise<void>>()
  private timers: NodeJS.Timeout[] = []
  /** False once stopping: no new claims, and items no longer hand their slot to a next one. */
  protected started = false
  private claiming: Promise<void> | null = null
  private again = false

  constructor(
    protected readonly log: Logger,
    private readonly concurrency: number
  ) {}

  /** Claims at most `free` items for this process. */
  protected abstract claim(free: number): Promise<T[]>
  protected abstract idOf(item: T): string
  /**
   * Runs one item to its recorded end; `controller` aborts it (cancel, deadline). Returns the item
   * to run next in the same slot, already claimed, or null.
   */
  protected abstract execute(item: T, controller: AbortController): Promise<T | null>
  /** The periodic jobs (backstop poll, lease renewal) to run while started. */
  protected abstract schedule(): NodeJS.Timeout[]
  protected async beforeStart(): Promise<void> {}
  protected async beforeDrain(): Promise<void> {}

  async start(): Promise<void> {
    this.started = true
    await this.beforeStart()
    this.timers = this.schedule()
    this.kick()
  }

  async stop(): Promise<void> {
    this.started = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    await this.beforeDrain()
    await this.claiming
    await Promise.all(this.inflight)
  }

  kick(): void {
    if (!this.started) return
    if (this.claiming) {
      this.again = true
      return
    }
    this.claiming = this.claimLoop().finally(() => (this.claiming = null))
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

export class CommandWorker extends ClaimingWorker<Claimed> {
  readonly name = 'orchestrator-commands'

  constructor(
    private readonly deps: { queue: CommandQueue; handlers: Handlers; bus: Bus; alerts: AlertService; log: Logger; owner: string; options: WorkerOptions }
  ) {
    super(deps.log, deps.options.concurrency)
  }

  /** New work, a cancel of a command running here. */
  private readonly onCommand = (event: BusEvent) => {
    const command = event.data as Command
    if (command.status === 'cancelled') this.running.get(command.id)?.abort(new Error('cancelled'))
    if (command.status === 'queued') this.kick()
  }

  /** An agent another replica let go of (it had no next command for it) may have work by now. */
  private readonly onAgent = (event: BusEvent) => {
    if (event.type === 'agent.updated' && (event.data as Agent).status !== 'busy') this.kick()
  }

  protected override async beforeStart(): Promise<void> {
    await this.deps.bus.subscribe('commands', this.onCommand)
    await this.deps.bus.subscribe('agents', this.onAgent)
    await this.deps.queue.reap()
  }

  protected override async beforeDrain(): Promise<void> {
    await this.deps.bus.unsubscribe('commands', this.onCommand)
    await this.deps.bus.unsubscribe('agents', this.onAgent)
  }

  protected schedule(): NodeJS.Timeout[] {
    const { options, queue, log, owner } = this.deps
    return [
      every(options.pollMs, () => {
        this.kick()
        queue.reap().catch((err) => log.warn({ err }, 'command reaper failed'))
      }),
      every(Math.max(50, Math.floor(options.leaseMs / 3)), () => {
        queue.renew(owner, [...this.running.keys()], options.leaseMs).catch((err) => log.warn({ err }, 'lease renewal failed'))
      }),
      every(options.heartbeatMs, () => void this.checkStaleQueue())
    ]
  }

  protected claim(free: number): Promise<Claimed[]> {
    return this.deps.queue.claim(this.deps.owner, free, this.deps.options.leaseMs)
  }

  protected idOf(claimed: Claimed): string {
    return claimed.command.id
  }

  protected async execute({ command, agent, row }: Claimed, controller: AbortController): Promise<Claimed | null> {
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded()), Number(row.timeout_ms))
    let outcome: Outcome
    try {
      const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }))
      const handler = this.deps.handlers[command.command as KnownCommand]
      if (!handler) throw new Error(`no handler for ${command.command}`)
      const result = await Promise.race([handler({ agent, command, signal: controller.signal }, command.args as never), aborted])
      outcome = { status: 'succeeded', result: result ?? null }
    } catch (err) {
      outcome = controller.signal.reason instanceof DeadlineExceeded
        ? { status: 'timed_out', error: `deadline of ${Number(row.timeout_ms)} ms passed` }
        : { status: 'failed', error: err instanceof Error ? err.message : String(err) }
    } finally {
      clearTimeout(timer)
    }
    return this.record(command.id, outcome)
  }

  /**
   * Stores the outcome, retrying briefly, and takes the agent's next command if the queue hands one
   * over; if it cannot store it, the lease lapses and another claim re-runs the command.
   */
  private async record(id: string, outcome: Outcome): Promise<Claimed | null> {
    const { queue, owner, options, log } = this.deps
    for (let attempt = 0; ; attempt++) {
      try {
        return await queue.finish(owner, id, outcome, this.started ? { leaseMs: options.leaseMs } : undefined)
      } catch (err) {
        if (attempt >= 3) {
          log.error({ err, commandId: id }, 'could not record a command outcome; it will run again')
          return null
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt))
      }
    }
  }

  private async checkStaleQueue(): Promise<void> {
    const { queue, alerts, options, log } = this.deps
    try {
      const age = await queue.oldestQueuedAge()
      if (age > options.staleQueueMs) {
        await alerts.raise({
          key: 'commands.stale',
          kind: 'commands',
          severity: 'medium',
          message: `A command has waited ${Math.round(age / 1000)} s in the queue`,
          data: { oldestQueuedMs: age, thresholdMs: options.staleQueueMs }
        })
      } else {
        await alerts.resolve('commands.stale')
      }
    } catch (err) {
      log.warn({ err }, 'stale queue check failed')
    }
  }
}

export class RitualWorker extends ClaimingWorker<Record<string, unknown>> {
  readonly name = 'orchestrator-rituals'

  constructor(private readonly deps: { rituals: RitualService; log: Logger; owner: string; concurrency: number; leaseMs: number; pollMs: number }) {
    super(deps.log, deps.concurrency)
  }

  protected schedule(): NodeJS.Timeout[] {
    const { rituals, log, owner, leaseMs, pollMs } = this.deps
    return [
      every(pollMs, () => {
        this.kick()
        rituals.reap().catch((err) => log.warn({ err }, 'ritual reaper failed'))
      }),
      every(Math.max(50, Math.floor(leaseMs / 3)), () => {
        rituals.renew(owner, leaseMs).catch((err) => log.warn({ err }, 'ritual lease renewal failed'))
      })
    ]
  }

  protected claim(free: number): Promise<Record<string, unknown>[]> {
    return this.deps.rituals.claim(this.deps.owner, free, this.deps.leaseMs)
  }

  protected idOf(row: Record<string, unknown>): string {
    return row.id as string
  }

  protected async execute(row: Record<string, unknown>, controller: AbortController): Promise<null> {
    const { rituals, owner, log } = this.deps
    const id = row.id as string
    await rituals.run(row, owner, controller.signal).catch(async (err) => {
      log.error({ err, ritualId: id }, 'ritual failed')
      await rituals.fail(id, owner, err instanceof Error ? err.message : String(err)).catch(() => undefined)
    })
    return null
  }
}

/** Publishes `ucf.heartbeat` with the current state while this process owns the orchestrator. */
export class UcfHeartbeat implements Worker {
  readonly name = 'orchestrator-ucf-heartbeat'
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly deps: { ucf: UcfService; bus: Bus; log: Logger; intervalMs: number }) {}

  start(): void {
    this.timer = every(this.deps.intervalMs, () => {
      this.deps.ucf.get()
        .then((state) => this.deps.bus.publish('ucf', 'ucf.heartbeat', state))
        .catch((err) => this.deps.log.warn({ err }, 'ucf heartbeat failed'))
    })
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }
}
