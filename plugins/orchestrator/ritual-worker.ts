// The ritual runner, run only by an owning process: claims queued ritual runs and runs them, with
// their leases renewed and those of dead replicas reaped. Kicked by the ritual route, polled as backstop.
// A run that meets a dependency down (the bus, the database) is tried again with backoff, and fails
// only once its tries run out, with a reason in our words.
import type { Logger } from 'pino'
import type { Clock } from '../../core/clock.js'
import { HelixError } from '../../core/errors.js'
import { ClaimingWorker, type PeriodicJob } from '../../core/workers/claiming-worker.js'
import type { RitualService } from './ritual-service.js'
import type { Row } from './sql.js'
import { transientRetry, unavailableMessage, type TransientRetryOptions } from './transient.js'

/** About 20 s of tries (jittered) while the lease is renewed: a Redis or PostgreSQL restart fits. */
const RITUAL_RETRY: TransientRetryOptions = { attempts: 8, initialDelayMs: 250, maxDelayMs: 5000 }

export interface RitualWorkerDeps {
  rituals: RitualService
  log: Logger
  clock?: Clock
  /** This process's lease owner name (ownerId()). */
  owner: string
  concurrency: number
  leaseMs: number
  pollMs: number
}

export class RitualWorker extends ClaimingWorker<Row> {
  readonly name = 'orchestrator-rituals'

  constructor(private readonly deps: RitualWorkerDeps) {
    super({ log: deps.log, concurrency: deps.concurrency, clock: deps.clock })
  }

  protected periodic(): PeriodicJob[] {
    const { rituals, log, owner, leaseMs, pollMs } = this.deps
    return [
      {
        everyMs: pollMs,
        run: () => {
          this.kick()
          rituals.reap().catch((err) => log.warn({ err }, 'ritual reaper failed'))
        }
      },
      {
        everyMs: Math.max(50, Math.floor(leaseMs / 3)),
        run: () => {
          rituals.renew(owner, leaseMs).catch((err) => log.warn({ err }, 'ritual lease renewal failed'))
        }
      }
    ]
  }

  protected claim(free: number): Promise<Row[]> {
    return this.deps.rituals.claim(this.deps.owner, free, this.deps.leaseMs)
  }

  protected idOf(row: Row): string {
    return row.id as string
  }

  protected async execute(row: Row, controller: AbortController): Promise<null> {
    const { rituals, owner, log } = this.deps
    const id = row.id as string
    const policy = transientRetry(RITUAL_RETRY)
    policy.onRetry(({ delay, ...result }) => {
      const reason = 'error' in result ? unavailableMessage(result.error) : null
      log.warn({ err: 'error' in result ? result.error : undefined, ritualId: id, delay }, 'ritual interrupted by a dependency; retrying')
      void rituals.note(id, owner, `${reason ?? 'a dependency was unavailable'}; the ritual will be retried`).catch(() => undefined)
    })
    await policy.execute(() => rituals.run(row, owner, controller.signal), controller.signal).catch(async (err: unknown) => {
      log.error({ err, ritualId: id }, 'ritual failed')
      await rituals.fail(id, owner, failureReason(err, RITUAL_RETRY.attempts)).catch(() => undefined)
    })
    return null
  }
}

/** What a failed run shows: our words for a dependency that stayed down, never a driver's message. */
function failureReason(err: unknown, attempts: number): string {
  const unavailable = unavailableMessage(err)
  if (unavailable) return `the ritual failed after ${attempts} attempts: ${unavailable}`
  return err instanceof HelixError ? `the ritual failed: ${err.message}` : 'the ritual failed: an internal error (see the server log)'
}
