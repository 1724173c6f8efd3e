// The Zapier plugin's SQL gateway: parameterised queries ($1, $2, ...) that read the same on
// PostgreSQL (a node-postgres pool, commits wait for the WAL flush) and SQLite (through Sequelize).
import pg from 'pg'
import type { Logger } from 'pino'
import { QueryTypes, type Sequelize } from 'sequelize'

export type Row = Record<string, unknown>

export class Sql {
  readonly postgres: boolean
  private readonly pool: pg.Pool | null
  /** Commits that do not wait for the WAL flush, for writes whose loss in a crash only means a re-run. */
  private readonly relaxedPool: pg.Pool | null
  /** SQLite is one file written by one process: statements take turns, so two writers never deadlock. */
  private tail: Promise<unknown> = Promise.resolve()

  constructor(private readonly sequelize: Sequelize, databaseUrl: string | null, log: Logger) {
    this.postgres = sequelize.getDialect() === 'postgres'
    if (this.postgres && !databaseUrl) throw new Error('PostgreSQL needs its URL')
    const pool = (options?: string) => {
      const p = new pg.Pool({ connectionString: databaseUrl!, max: 8, connectionTimeoutMillis: 2000, options })
      // An idle connection the server ended (a restart) is dropped by the pool; unheard, it would end the process.
      p.on('error', (err) => log.warn({ err: { message: err.message } }, 'an idle PostgreSQL connection was closed'))
      return p
    }
    this.pool = this.postgres ? pool() : null
    // The WAL keeps its order: a relaxed commit is never lost while a later durable one survives.
    this.relaxedPool = this.postgres ? pool('-c synchronous_commit=off') : null
  }

  /** Runs a statement; `relaxed` commits without waiting for the WAL flush (PostgreSQL). */
  rows<T = Row>(sql: string, bind: unknown[] = [], options: { relaxed?: boolean } = {}): Promise<T[]> {
    const pgPool = options.relaxed ? this.relaxedPool : this.pool
    if (pgPool) return pgPool.query(sql, bind).then((r) => r.rows as T[])
    const run = this.tail.then(() => this.sqlite(sql, bind), () => this.sqlite(sql, bind))
    this.tail = run.catch(() => undefined)
    return run as Promise<T[]>
  }

  async one<T = Row>(sql: string, bind: unknown[] = [], options: { relaxed?: boolean } = {}): Promise<T | null> {
    return (await this.rows<T>(sql, bind, options))[0] ?? null
  }

  async run(sql: string, bind: unknown[] = [], options: { relaxed?: boolean } = {}): Promise<void> {
    await this.rows(sql, bind, options)
  }

  json(value: unknown): string {
    return JSON.stringify(value ?? null)
  }

  async close(): Promise<void> {
    await Promise.all([this.pool?.end(), this.relaxedPool?.end()])
  }

  private sqlite(sql: string, bind: unknown[]): Promise<Row[]> {
    // Sequelize's SQLite driver reads no rows from a statement starting with INSERT; a comment keeps RETURNING's.
    return this.sequelize.query(`/* rows */ ${sql}`, { bind, type: QueryTypes.SELECT, raw: true }) as Promise<Row[]>
  }
}

/** A JSON column as read back: PostgreSQL's JSONB arrives parsed, SQLite's JSON as text. */
export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T
}
