// The one SQL gateway the orchestrator's services use: parameterised queries ($1, $2, ...) that read
// the same on PostgreSQL (node-postgres pools) and SQLite (through Sequelize).
import pg from 'pg'
import type { Logger } from 'pino'
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize'

/** A row as the driver hands it back: column names as in the table. */
export type Row = Record<string, unknown>

export interface QueryOptions {
  /** On the relaxed pool: commits do not wait for the WAL flush (see Sql). */
  relaxed?: boolean
  /**
   * A prepared statement's name, one per statement text: parsed once per connection. With
   * `plan: 'cached'` it also runs on one plan made without the parameters' values, which saves
   * planning the queue's large statements on every call (it costs more than running them). Only for
   * statements written so that plan is right for every value (see PostgresCommandSql.finishAndClaimNext);
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
    // A server that drops packets instead of refusing fails the connect in 2 s: the request answers
    // 503 rather than hanging.
    const pool = new pg.Pool({ connectionString, max: 8, options, connectionTimeoutMillis: 2000 })
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
    // The pool does not listen to a checked-out client: the server ending the connection mid-transaction
    // (a crash) fails the query in hand, and the client's 'error' event, unheard, would end the process.
    const ended = () => undefined
    client.on('error', ended)
    try {
      await client.query('BEGIN')
      const result = await work({ query: async (sql, bind) => (await client.query(sql, bind)).rows })
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.removeListener('error', ended)
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
