// The command executor, run only by an owning process: claims commands, runs their handlers under a
// deadline, records outcomes. Woken by the bus, with a slow poll as backstop; also watches for a stale queue.
import type { Logger } from 'pino'
import type { Bus, BusEvent } from '../../core/bus/types.js'
import type { Clock } from '../../core/clock.js'
import type { Tracing } from '../../core/trace.js'
import { ClaimingWorker, type PeriodicJob } from '../../core/workers/claiming-worker.js'
import type { AlertService } from './alert-service.js'
import type { KnownCommand } from './command-catalog.js'
import type { Handlers } from './command-handlers.js'
import type { CommandQueue } from './command-queue.js'
import type { CommandReaper } from './command-reaper.js'
import type { Claimed, Outcome } from './command-types.js'
import { transientRetry, unavailableMessage } from './transient.js'
import type { Agent, Command } from './types.js'

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

export interface CommandWorkerDeps {
  queue: CommandQueue
  reaper: CommandReaper
  handlers: Handlers
  bus: Bus
  alerts: AlertService
  log: Logger
  clock?: Clock
  /** This process's lease owner name (ownerId()). */
  owner: string
  options: WorkerOptions
  /** Each execution is a span continuing the trace that accepted the command (kernel.trace). */
  trace?: Tracing
}

class DeadlineExceeded extends Error {}

/**
 * Storing an outcome is retried while the database is unreachable (about 10 s, jittered backoff);
 * if it still fails, the lease lapses and another claim re-runs the command.
 */
const recording = transientRetry({ attempts: 6, initialDelayMs: 100, maxDelayMs: 4000 })

/**
 * A handler that meets a dependency down (its database, the bus) is run again (handlers are
 * idempotent per command), within the command's deadline.
 */
const HANDLER_ATTEMPTS = 4
const handling = transientRetry({ attempts: HANDLER_ATTEMPTS, initialDelayMs: 200, maxDelayMs: 2000 })

export class CommandWorker extends ClaimingWorker<Claimed> {
  readonly name = 'orchestrator-commands'

  constructor(private readonly deps: CommandWorkerDeps) {
    super({ log: deps.log, concurrency: deps.options.concurrency, clock: deps.clock })
  }

  /**
   * Agents running a command here. Their new commands need no claim: finishing hands each agent its
   * next command, or frees it and announces that (which kicks, see onAgent).
   */
  private readonly agentsHere = new Set<string>()

  /** New work (for an agent not already working here), a cancel of a command running here. */
  private readonly onCommand = (event: BusEvent) => {
    const command = event.data as Command
    if (command.status === 'cancelled') this.running.get(command.id)?.abort(new Error('cancelled'))
    if (command.status === 'queued' && !this.agentsHere.has(command.agentId)) this.kick()
  }

  /** An agent another replica let go of (it had no next command for it) may have work by now. */
  private readonly onAgent = (event: BusEvent) => {
    if (event.type === 'agent.updated' && (event.data as Agent).status !== 'busy') this.kick()
  }

  protected override async beforeStart(): Promise<void> {
    await this.deps.bus.subscribe('commands', this.onCommand)
    await this.deps.bus.subscribe('agents', this.onAgent)
    await this.deps.reaper.reap()
  }

  protected override async beforeDrain(): Promise<void> {
    await this.deps.bus.unsubscribe('commands', this.onCommand)
    await this.deps.bus.unsubscribe('agents', this.onAgent)
  }

  protected periodic(): PeriodicJob[] {
    const { options, reaper, log, owner } = this.deps
    return [
      {
        everyMs: options.pollMs,
        run: () => {
          this.kick()
          reaper.reap().catch((err) => log.warn({ err }, 'command reaper failed'))
        }
      },
      {
        everyMs: Math.max(50, Math.floor(options.leaseMs / 3)),
        run: () => {
          reaper.renew(owner, [...this.running.keys()], options.leaseMs).catch((err) => log.warn({ err }, 'lease renewal failed'))
        }
      },
      { everyMs: options.heartbeatMs, run: () => void this.checkStaleQueue() }
    ]
  }

  protected claim(free: number): Promise<Claimed[]> {
    return this.deps.queue.claim(this.deps.owner, free, this.deps.options.leaseMs)
  }

  protected idOf(claimed: Claimed): string {
    return claimed.command.id
  }

  /**
   * Runs the command and records its outcome; with tracing on, inside a `command.execute` span that
   * continues the accepting request's trace, so the outcome's events carry that trace too.
   */
  protected async execute(claimed: Claimed, controller: AbortController): Promise<Claimed | null> {
    const { trace } = this.deps
    const agentId = claimed.agent.id
    this.agentsHere.add(agentId)
    let next: Claimed | null = null
    try {
      if (!trace?.enabled) next = await this.run(claimed, controller)
      else {
        const parent = (claimed.row.traceparent as string | null | undefined) ?? undefined
        const attributes = { command: claimed.command.command, agent: claimed.agent.slug, 'command.id': claimed.command.id }
        next = await trace.run('command.execute', parent, () => this.run(claimed, controller), attributes)
      }
      return next
    } finally {
      if (!next) this.agentsHere.delete(agentId)
    }
  }

  private async run({ command, agent, row }: Claimed, controller: AbortController): Promise<Claimed | null> {
    const timer = this.clock.setTimeout(() => controller.abort(new DeadlineExceeded()), Number(row.timeout_ms))
    let outcome: Outcome
    try {
      const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }))
      const handler = this.deps.handlers[command.command as KnownCommand]
      if (!handler) throw new Error(`no handler for ${command.command}`)
      const run = handling.execute(() => handler({ agent, command, signal: controller.signal }, command.args as never), controller.signal)
      const result = await Promise.race([run, aborted])
      outcome = { status: 'succeeded', result: result ?? null }
    } catch (err) {
      outcome = controller.signal.reason instanceof DeadlineExceeded
        ? { status: 'timed_out', error: `deadline of ${Number(row.timeout_ms)} ms passed` }
        : { status: 'failed', error: failureReason(err) }
    } finally {
      this.clock.clearTimeout(timer)
    }
    return this.record(command.id, outcome)
  }

  /** Stores the outcome and takes the agent's next command if the queue hands one over. */
  private async record(id: string, outcome: Outcome): Promise<Claimed | null> {
    const { queue, owner, options, log } = this.deps
    try {
      return await recording.execute(() => queue.finish(owner, id, outcome, this.started ? { leaseMs: options.leaseMs } : undefined))
    } catch (err) {
      log.error({ err, commandId: id }, 'could not record a command outcome; it will run again')
      return null
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

/** What a failed command shows: a handler's own reason, or ours for a dependency that stayed down. */
function failureReason(err: unknown): string {
  const unavailable = unavailableMessage(err)
  if (unavailable) return `${unavailable}; the command failed after ${HANDLER_ATTEMPTS} attempts`
  return err instanceof Error ? err.message : String(err)
}
