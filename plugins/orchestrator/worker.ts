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
import { TERMINAL, type Command } from './models.js'
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

export class CommandWorker implements Worker {
  readonly name = 'orchestrator-commands'
  private readonly running = new Map<string, AbortController>()
  private readonly inflight = new Set<Promise<void>>()
  private timers: NodeJS.Timeout[] = []
  private started = false
  private claiming: Promise<void> | null = null
  private again = false

  constructor(
    private readonly deps: { queue: CommandQueue; handlers: Handlers; bus: Bus; alerts: AlertService; log: Logger; owner: string; options: WorkerOptions }
  ) {}

  private readonly onEvent = (event: BusEvent) => {
    const command = event.data as Command
    if (command.status === 'cancelled') this.running.get(command.id)?.abort(new Error('cancelled'))
    if (command.status === 'queued' || TERMINAL.has(command.status)) this.kick()
  }

  async start(): Promise<void> {
    this.started = true
    const { options } = this.deps
    await this.deps.bus.subscribe('commands', this.onEvent)
    this.timers = [
      every(options.pollMs, () => {
        this.kick()
        this.deps.queue.reap().catch((err) => this.deps.log.warn({ err }, 'command reaper failed'))
      }),
      every(Math.max(50, Math.floor(options.leaseMs / 3)), () => {
        this.deps.queue.renew(this.deps.owner, [...this.running.keys()], options.leaseMs).catch((err) => this.deps.log.warn({ err }, 'lease renewal failed'))
      }),
      every(options.heartbeatMs, () => void this.checkStaleQueue())
    ]
    await this.deps.queue.reap()
    this.kick()
  }

  async stop(): Promise<void> {
    this.started = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    await this.deps.bus.unsubscribe('commands', this.onEvent)
    await this.claiming
    await Promise.all(this.inflight)
  }

  /** Claims work now; calls while a claim is in flight fold into one more round. */
  kick(): void {
    if (!this.started) return
    if (this.claiming) {
      this.again = true
      return
    }
    this.claiming = this.claimLoop().finally(() => (this.claiming = null))
  }

  private async claimLoop(): Promise<void> {
    const { queue, owner, options, log } = this.deps
    do {
      this.again = false
      const free = options.concurrency - this.running.size
      if (free <= 0) return
      try {
        const claimed = await queue.claim(owner, free, options.leaseMs)
        for (const c of claimed) this.execute(c)
        if (claimed.length > 0) this.again = true
      } catch (err) {
        log.warn({ err }, 'command claim failed')
        return
      }
    } while (this.again && this.started)
  }

  private execute(claimed: Claimed): void {
    const { command, agent, row } = claimed
    const controller = new AbortController()
    this.running.set(command.id, controller)
    const run = (async () => {
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
      await this.record(command.id, outcome)
    })()
    this.inflight.add(run)
    void run.finally(() => {
      this.running.delete(command.id)
      this.inflight.delete(run)
      this.kick()
    })
  }

  /** Stores the outcome, retrying briefly; if it cannot, the lease lapses and another claim re-runs it. */
  private async record(id: string, outcome: Outcome): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.queue.finish(this.deps.owner, id, outcome)
        return
      } catch (err) {
        if (attempt >= 3) {
          this.deps.log.error({ err, commandId: id }, 'could not record a command outcome; it will run again')
          return
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

export class RitualWorker implements Worker {
  readonly name = 'orchestrator-rituals'
  private readonly running = new Map<string, AbortController>()
  private readonly inflight = new Set<Promise<void>>()
  private timers: NodeJS.Timeout[] = []
  private started = false
  private claiming: Promise<void> | null = null
  private again = false

  constructor(private readonly deps: { rituals: RitualService; log: Logger; owner: string; concurrency: number; leaseMs: number; pollMs: number }) {}

  async start(): Promise<void> {
    this.started = true
    const { rituals, log, owner, leaseMs, pollMs } = this.deps
    this.timers = [
      every(pollMs, () => {
        this.kick()
        rituals.reap().catch((err) => log.warn({ err }, 'ritual reaper failed'))
      }),
      every(Math.max(50, Math.floor(leaseMs / 3)), () => {
        rituals.renew(owner, leaseMs).catch((err) => log.warn({ err }, 'ritual lease renewal failed'))
      })
    ]
    this.kick()
  }

  async stop(): Promise<void> {
    this.started = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
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
    const { rituals, owner, concurrency, leaseMs, log } = this.deps
    do {
      this.again = false
      const free = concurrency - this.running.size
      if (free <= 0) return
      try {
        const rows = await rituals.claim(owner, free, leaseMs)
        for (const row of rows) this.execute(row)
        if (rows.length > 0) this.again = true
      } catch (err) {
        log.warn({ err }, 'ritual claim failed')
        return
      }
    } while (this.again && this.started)
  }

  private execute(row: Record<string, unknown>): void {
    const id = row.id as string
    const controller = new AbortController()
    this.running.set(id, controller)
    const run = this.deps.rituals.run(row, this.deps.owner, controller.signal).catch(async (err) => {
      this.deps.log.error({ err, ritualId: id }, 'ritual failed')
      await this.deps.rituals.fail(id, this.deps.owner, err instanceof Error ? err.message : String(err)).catch(() => undefined)
    })
    this.inflight.add(run)
    void run.finally(() => {
      this.running.delete(id)
      this.inflight.delete(run)
      this.kick()
    })
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
