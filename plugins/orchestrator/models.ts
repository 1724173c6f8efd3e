// The orchestrator's rows and their API shapes (DESIGN section 9), and the one SQL gateway the
// services use: parameterised queries over Sequelize that read the same on PostgreSQL and SQLite.
import pg from 'pg'
import type { Logger } from 'pino'
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize'
import type { UcfState } from './ucf-service.js'

export const TIERS = ['inner_core', 'middle_ring', 'outer_ring', 'implicit', 'operational', 'integration'] as const
export type Tier = (typeof TIERS)[number]
export const AGENT_STATUSES = ['idle', 'active', 'busy', 'offline', 'error'] as const
export type AgentStatus = (typeof AGENT_STATUSES)[number]
export const COMMAND_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'] as const
export type CommandStatus = (typeof COMMAND_STATUSES)[number]
export const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled'])

export interface Agent {
  id: string
  slug: string
  name: string
  emoji: string
  tier: Tier
  role: string
  capabilities: string[]
  commands: string[]
  personality: Record<string, number>
  voice: { languageCode: string; name: string }
  status: AgentStatus
  statusReason: string | null
  lastSeenAt: string | null
  version: number
  createdAt: string
  updatedAt: string
}

export interface Command {
  id: string
  agentId: string
  command: string
  args: Record<string, unknown>
  status: CommandStatus
  result: unknown
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export type Row = Record<string, unknown>

const iso = (v: unknown): string => new Date(Number(v)).toISOString()
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v))

/** PostgreSQL hands back JSONB as objects, SQLite as text. */
export function parseJson<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T
}

export function toAgent(r: Row): Agent {
  return {
    id: r.id as string,
    slug: r.slug as string,
    name: r.name as string,
    emoji: r.emoji as string,
    tier: r.tier as Tier,
    role: r.role as string,
    capabilities: parseJson(r.capabilities),
    commands: parseJson(r.commands),
    personality: parseJson(r.personality),
    voice: parseJson(r.voice),
    status: r.status as AgentStatus,
    statusReason: (r.status_reason as string | null) ?? null,
    lastSeenAt: isoOrNull(r.last_seen_at),
    version: Number(r.version),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at)
  }
}

export function toCommand(r: Row): Command {
  return {
    id: r.id as string,
    agentId: r.agent_id as string,
    command: r.command as string,
    args: parseJson(r.args),
    status: r.status as CommandStatus,
    result: r.result === null || r.result === undefined ? null : parseJson(r.result),
    error: (r.error as string | null) ?? null,
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at)
  }
}

export interface Ritual {
  id: string
  name: string
  steps: number
  seed: number
  status: 'queued' | 'running' | 'completed' | 'failed'
  progress: number
  deltas: Record<string, number> | null
  ucf: UcfState | null
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export function toRitual(r: Row): Ritual {
  return {
    id: r.id as string,
    name: r.name as string,
    steps: Number(r.steps),
    seed: Number(r.seed),
    status: r.status as Ritual['status'],
    progress: Number(r.progress),
    deltas: r.deltas === null ? null : parseJson(r.deltas),
    ucf: r.ucf === null ? null : parseJson(r.ucf),
    error: (r.error as string | null) ?? null,
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at)
  }
}

export interface Alert {
  id: string
  key: string
  kind: string
  severity: 'critical' | 'high' | 'medium'
  state: 'open' | 'resolved'
  message: string
  data: Record<string, unknown>
  raisedAt: string
  resolvedAt: string | null
}

export function toAlert(r: Row): Alert {
  return {
    id: r.id as string,
    key: r.key as string,
    kind: r.kind as string,
    severity: r.severity as Alert['severity'],
    state: r.state as Alert['state'],
    message: r.message as string,
    data: parseJson(r.data),
    raisedAt: iso(r.raised_at),
    resolvedAt: isoOrNull(r.resolved_at)
  }
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface QueryOptions {
  /** On the relaxed pool: commits do not wait for the WAL flush (see Sql). */
  relaxed?: boolean
  /**
   * A prepared statement's name, one per statement text: parsed once per connection. With
   * `plan: 'cached'` it also runs on one plan made without the parameters' values, which saves
   * planning the queue's large statements on every call (it costs more than running them). Only for
   * statements written so that plan is right for every value (see CommandQueue.finishAndClaimNext);
   * they run on connections of their own and commit relaxed. The executor's per-command reads run
   * there too, so the writes that wait for the flush (accepting commands) never queue behind them.
   */
  prepared?: string
  plan?: 'cached'
}

/** A transaction in progress: queries given it run inside it. */
export interface Tx {
  query(sql: string, bind: unknown[]): Promise<Row[]>
}

/**
 * Parameterised SQL ($1, $2, ...) on either dialect; JSON values go in as text. On PostgreSQL the
 * queries go straight through node-postgres pools (the queue's hot path cannot afford an ORM's
 * per-query work); Sequelize keeps the schema (migrations) and the embedded SQLite. On SQLite (one
 * process) statements take turns: Sequelize opens a separate SQLite connection per transaction,
 * and two writers upgrading their locks at once would deadlock.
 */
export class Sql {
  readonly postgres: boolean
  /** The database's clock in epoch ms: one clock for every replica's leases and timestamps. */
  readonly now: string
  private readonly durable: pg.Pool | null
  private readonly relaxedPool: pg.Pool | null
  private readonly cachedPlanPool: pg.Pool | null
  private tail: Promise<unknown> = Promise.resolve()
  private connections = 0
  private allRemoved: (() => void) | null = null

  constructor(
    private readonly sequelize: Sequelize,
    databaseUrl: string | null,
    private readonly log?: Logger
  ) {
    this.postgres = sequelize.getDialect() === 'postgres'
    this.now = this.postgres ? '(extract(epoch from clock_timestamp()) * 1000)::bigint' : "CAST(unixepoch('subsec') * 1000 AS INTEGER)"
    if (this.postgres && !databaseUrl) throw new Error('PostgreSQL needs its URL')
    this.durable = this.postgres ? this.pool(databaseUrl!) : null
    // Commits that do not wait for the WAL flush: for queue transitions whose loss in a crash only
    // means a re-run (leases hand the command back; handlers are idempotent). The WAL keeps its
    // order, so a relaxed commit is never lost while a later durable one survives.
    this.relaxedPool = this.postgres ? this.pool(databaseUrl!, '-c synchronous_commit=off') : null
    this.cachedPlanPool = this.postgres ? this.pool(databaseUrl!, '-c synchronous_commit=off -c plan_cache_mode=force_generic_plan') : null
  }

  private pool(connectionString: string, options?: string): pg.Pool {
    const pool = new pg.Pool({ connectionString, max: 8, options })
    // The server may end an idle connection (a restart, a failover, a dropped database): the pool
    // drops it and opens another on the next query. Unheard, that error would end the process.
    pool.on('error', (err) => this.log?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'an idle PostgreSQL connection was closed'))
    pool.on('connect', () => this.connections++)
    pool.on('remove', () => {
      if (--this.connections === 0) this.allRemoved?.()
    })
    return pool
  }

  /** Runs a statement (see QueryOptions). */
  rows<T = Row>(sql: string, bind: unknown[] = [], tx?: Tx, options: QueryOptions = {}): Promise<T[]> {
    if (tx) return tx.query(sql, bind) as Promise<T[]>
    const pool = options.plan === 'cached' ? this.cachedPlanPool : options.relaxed ? this.relaxedPool : this.durable
    if (pool) return pool.query({ text: sql, values: bind, name: options.prepared }).then((r) => r.rows as T[])
    return this.turn(() => this.sqlite(sql, bind)) as Promise<T[]>
  }

  async one<T = Row>(sql: string, bind: unknown[] = [], tx?: Tx, options: QueryOptions = {}): Promise<T | null> {
    return (await this.rows<T>(sql, bind, tx, options))[0] ?? null
  }

  async run(sql: string, bind: unknown[] = [], tx?: Tx): Promise<void> {
    await this.rows(sql, bind, tx)
  }

  /** A transaction; `relaxed` as for rows(). A thrown error rolls it back. */
  async transaction<T>(work: (tx: Tx) => Promise<T>, options: { relaxed?: boolean } = {}): Promise<T> {
    const pool = options.relaxed ? this.relaxedPool : this.durable
    if (!pool) {
      return this.turn(() => this.sequelize.transaction((transaction) => work({ query: (sql, bind) => this.sqlite(sql, bind, transaction) })))
    }
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const result = await work({ query: async (sql, bind) => (await client.query(sql, bind)).rows })
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
  }

  json(value: unknown): string {
    return JSON.stringify(value ?? null)
  }

  /** Ends the pools and waits until their connections have closed (pool.end() resolves sooner). */
  async close(): Promise<void> {
    const removed = new Promise<void>((resolve) => (this.allRemoved = resolve))
    await Promise.all([this.durable?.end(), this.relaxedPool?.end(), this.cachedPlanPool?.end()])
    if (this.connections > 0) await removed
  }

  private sqlite(sql: string, bind: unknown[], transaction?: Transaction): Promise<Row[]> {
    // Sequelize's SQLite driver runs statements starting with "INSERT INTO" without reading rows,
    // which would drop the rows of INSERT ... RETURNING; a leading comment keeps them.
    return this.sequelize.query(`/* rows */ ${sql}`, { bind, type: QueryTypes.SELECT, transaction, raw: true }) as Promise<Row[]>
  }

  private turn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work)
    this.tail = run.catch(() => undefined)
    return run
  }
}
