// Retention (HELIX_RETENTION_DAYS): the owner prunes what would otherwise grow forever (finished
// commands, UCF history, finished rituals, resolved alerts, outbox rows left behind), hourly and in
// small batches, so no statement holds its locks for long. Queued and running work is never touched.
import type { Logger } from 'pino'
import { systemClock, type Clock, type Timer } from '../../core/clock.js'
import type { Worker } from '../../core/plugin.js'
import type { Sql } from './sql.js'

const DAY_MS = 86_400_000

/** Rows one statement deletes at most. */
const PRUNE_BATCH = 1000

/** Each table, its key, and which of its rows may go once older than the cutoff (bound to $1). */
const TABLES = [
  { table: 'orchestrator_commands', key: 'seq', where: "status IN ('succeeded', 'failed', 'timed_out', 'cancelled') AND created_at < $1" },
  { table: 'orchestrator_ucf_history', key: 'id', where: 'at < $1' },
  { table: 'orchestrator_rituals', key: 'id', where: "status IN ('completed', 'failed') AND created_at < $1" },
  { table: 'orchestrator_alerts', key: 'id', where: "state = 'resolved' AND raised_at < $1" },
  { table: 'orchestrator_outbox', key: 'id', where: 'created_at < $1' }
] as const

export type PruneCounts = Record<(typeof TABLES)[number]['table'], number>

export interface RetentionPrunerDeps {
  sql: Sql
  log: Logger
  clock?: Clock
  retentionDays: number
  /** How often it prunes; hourly by default. The first prune comes a minute after start (or sooner). */
  everyMs?: number
}

export class RetentionPruner implements Worker {
  readonly name = 'orchestrator-retention'
  private readonly clock: Clock
  private readonly everyMs: number
  private timers: Timer[] = []
  private pruning: Promise<unknown> | null = null
  private stopping = false

  constructor(private readonly deps: RetentionPrunerDeps) {
    this.clock = deps.clock ?? systemClock
    this.everyMs = deps.everyMs ?? 3_600_000
  }

  start(): void {
    this.stopping = false
    const run = () => {
      this.pruning ??= this.prune()
        .then((counts) => this.deps.log.debug({ pruned: counts }, 'pruned past the retention'))
        .catch((err: unknown) => this.deps.log.warn({ err }, 'pruning failed; retrying at the next run'))
        .finally(() => (this.pruning = null))
    }
    this.timers = [this.clock.setTimeout(run, Math.min(60_000, this.everyMs)), this.clock.setInterval(run, this.everyMs)]
  }

  async stop(): Promise<void> {
    this.stopping = true
    this.clock.clearTimeout(this.timers[0])
    this.clock.clearInterval(this.timers[1])
    this.timers = []
    await this.pruning
  }

  /**
   * Deletes, table by table, the rows past the retention, PRUNE_BATCH per statement until none is
   * left (or the worker stops). The cutoff is read from the database's clock. Returns how many went.
   */
  async prune(): Promise<PruneCounts> {
    const { sql } = this.deps
    const [{ now }] = (await sql.rows<{ now: number | string }>(`SELECT ${sql.now} AS now`)) as [{ now: number | string }]
    const cutoff = Number(now) - this.deps.retentionDays * DAY_MS
    const counts = {} as PruneCounts
    for (const { table, key, where } of TABLES) {
      counts[table] = 0
      for (;;) {
        const deleted = await sql.rows(
          `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ${PRUNE_BATCH}) RETURNING ${key}`,
          [cutoff],
          undefined,
          { relaxed: true }
        )
        counts[table] += deleted.length
        if (deleted.length < PRUNE_BATCH || this.stopping) break
      }
    }
    return counts
  }
}
