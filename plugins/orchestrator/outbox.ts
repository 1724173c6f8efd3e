// The transactional outbox (`orchestrator_outbox`): a transition's events are stored in the same commit
// as the transition, so a crash between the commit and the publish loses none. The process that made
// the transition publishes them at once and then deletes their rows (in batches, off the request's
// path); the relay (outbox-relay.ts) publishes what a process left behind (it died, the bus was down).
// Delivery is at least once: a consumer may see a transition twice (dedupe by id and status).
import type { RetryPolicy } from 'cockatiel'
import type { Logger } from 'pino'
import type { Bus } from '../../core/bus/types.js'
import { toAgent, toAlert, toCommand, toRitual } from './rows.js'
import type { QueryOptions, Row, Sql, Tx } from './sql.js'
import { isTransient, transientRetry } from './transient.js'
import { ucfUpdatedFromRow } from './ucf-state.js'

/** An event to publish: a channel, a type and its data. */
export interface OutboxEvent {
  channel: string
  type: string
  data: unknown
}

/**
 * Where a stored event comes from: each row of a statement (or CTE) becomes one `type` on `channel`,
 * with `data` as its data when given, else the row itself.
 */
export interface RowEvent {
  channel: string
  type: string
  data?: unknown
}

/**
 * Events stored as the table row they are made from (what a statement returns), and how that row
 * becomes the event's data; any other event is stored as its data.
 */
const FROM_ROW: Record<string, (row: Row) => unknown> = {
  'command.updated': toCommand,
  'agent.created': toAgent,
  'agent.updated': toAgent,
  'ritual.completed': toRitual,
  'ucf.updated': ucfUpdatedFromRow,
  'alert.raised': toAlert,
  'alert.resolved': toAlert
}

/** A short retry for a bus that blinked; past it, the relay has the events. */
const publishing = transientRetry({ attempts: 3, initialDelayMs: 50, maxDelayMs: 500 })

/** Rows of published events are deleted together, this long after the first of them. */
const FORGET_DELAY_MS = 20

const SAFE_NAME = /^[a-z][a-z0-9_.:-]*$/

export class Outbox {
  private forgetting: number[] = []
  private forgetTimer: NodeJS.Timeout | undefined
  private forgotten: Promise<void> = Promise.resolve()

  constructor(
    private readonly sql: Sql,
    private readonly bus: Bus,
    private readonly log?: Logger
  ) {}

  /**
   * PostgreSQL: an INSERT for a WITH clause that stores one event per row of each CTE named in
   * `sources`, stamped with the database clock; it returns each stored row's `id` and `ref` (the
   * source row's id). Channel and type are constants of the code, written into the SQL.
   */
  insertFrom(sources: readonly { cte: string; channel: string; type: string; dataParam?: string }[]): string {
    const selects = sources.map(({ cte, channel, type, dataParam }) => {
      if (!SAFE_NAME.test(channel) || !SAFE_NAME.test(type) || !/^[a-z_]+$/.test(cte)) throw new Error(`not an outbox source: ${cte} ${channel} ${type}`)
      return `SELECT '${channel}', '${type}', ${cte}.id::text, ${dataParam ? `${dataParam}::jsonb` : `to_jsonb(${cte})`}, ${this.sql.now} FROM ${cte}`
    })
    return `INSERT INTO orchestrator_outbox (channel, type, ref, data, created_at) ${selects.join(' UNION ALL ')} RETURNING id, ref`
  }

  /** Stores events inside transaction `tx`; returns their outbox ids, in the order of `events`. */
  async add(tx: Tx, events: readonly (OutboxEvent & { ref: string | null })[]): Promise<number[]> {
    if (events.length === 0) return []
    const bind: unknown[] = []
    const values = events.map(({ channel, type, ref, data }) => {
      bind.push(channel, type, ref, this.sql.json(data))
      const n = bind.length
      return `($${n - 3}, $${n - 2}, $${n - 1}, $${n}, ${this.sql.now})`
    })
    const rows = await this.sql.rows<{ id: number | string }>(
      `INSERT INTO orchestrator_outbox (channel, type, ref, data, created_at) VALUES ${values.join(', ')} RETURNING id`,
      bind,
      tx
    )
    // Ids are drawn in the order of the VALUES; RETURNING may list the rows in any order.
    return rows.map((r) => Number(r.id)).sort((x, y) => x - y)
  }

  /**
   * Runs `statement` (an INSERT or UPDATE ... RETURNING * of rows with an `id`) and stores `event` for
   * each row it returns, in one commit: one statement on PostgreSQL, a transaction (or `tx`) on
   * SQLite. Each row comes back with its event's `outbox_id`.
   */
  async rowsWithEvents(statement: string, bind: readonly unknown[], event: RowEvent, options: { tx?: Tx; query?: QueryOptions } = {}): Promise<Row[]> {
    const { channel, type, data } = event
    if (this.sql.postgres) {
      const params = data === undefined ? [...bind] : [...bind, this.sql.json(data)]
      const dataParam = data === undefined ? undefined : `$${params.length}`
      return this.sql.rows(
        `WITH r AS (${statement}), o AS (${this.insertFrom([{ cte: 'r', channel, type, dataParam }])})
         SELECT r.*, o.id AS outbox_id FROM r LEFT JOIN o ON o.ref = r.id::text`,
        params,
        options.tx,
        options.query
      )
    }
    const work = async (tx: Tx) => {
      const rows = await this.sql.rows(statement, [...bind], tx)
      const ids = await this.add(tx, rows.map((row) => ({ channel, type, ref: String(row.id), data: data === undefined ? row : data })))
      return rows.map((row, i) => ({ ...row, outbox_id: ids[i] }))
    }
    return options.tx ? work(options.tx) : this.sql.transaction(work)
  }

  /**
   * Publishes a committed transition's events, all in this tick (one bus batch, in this order),
   * retrying a bus that is briefly down, then deletes their stored rows. Nobody waits for it: the
   * transition is committed, and events it could not publish stay stored for the relay, so a bus
   * outage neither fails nor holds up a request or a worker.
   */
  publish(events: readonly OutboxEvent[], ids: readonly number[]): void {
    void Promise.allSettled(events.map((e) => this.publishOne(e, publishing))).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed) this.log?.warn({ err: failed.reason }, 'could not publish a transition; the outbox relay will')
      else this.forget(ids)
    })
  }

  /**
   * Publishes the stored events older than `graceMs` (a process that made them did not get them out
   * in that time), oldest first, then deletes them; replicas take disjoint rows (SKIP LOCKED). An
   * event the bus refuses for good (not a transient failure) is logged and dropped. Returns how many
   * rows it is done with (none while the bus is down).
   */
  async relay(graceMs: number, limit: number): Promise<number> {
    const work = async (tx?: Tx) => {
      const rows = await this.sql.rows(
        `SELECT id, channel, type, data FROM orchestrator_outbox WHERE created_at < ${this.sql.now} - $1 ORDER BY id LIMIT $2${this.sql.postgres ? ' FOR UPDATE SKIP LOCKED' : ''}`,
        [graceMs, limit],
        tx
      )
      if (rows.length === 0) return 0
      // One try each: the relay comes back at its next poll. A row that cannot be read is refused for good.
      const results = await Promise.allSettled(rows.map((row) => {
        try {
          return this.publishOne(storedEvent(row))
        } catch (err) {
          return Promise.reject(err)
        }
      }))
      const done: number[] = []
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') done.push(Number(rows[i]!.id))
        else if (!isTransient(result.reason)) {
          this.log?.error({ err: result.reason, outboxId: rows[i]!.id }, 'the bus refused a stored event; dropping it')
          done.push(Number(rows[i]!.id))
        }
      })
      if (done.length > 0) await this.delete(done, tx)
      return done.length
    }
    // PostgreSQL holds the row locks while publishing, so two relays never take the same rows. SQLite
    // has one process, whose statements take turns: no transaction, so none waits for the bus.
    return this.sql.postgres ? this.sql.transaction(work, { relaxed: true }) : work()
  }

  /** Deletes the rows of published events still waiting to be deleted. */
  async flush(): Promise<void> {
    clearTimeout(this.forgetTimer)
    this.forgetTimer = undefined
    const ids = this.forgetting
    this.forgetting = []
    if (ids.length > 0) {
      this.forgotten = this.forgotten.then(() => this.delete(ids)).catch((err: unknown) => {
        // Left stored, they are published once more by the relay: a duplicate, never a loss.
        this.log?.warn({ err }, 'could not delete published outbox rows')
      })
    }
    await this.forgotten
  }

  private publishOne(event: OutboxEvent, retries?: RetryPolicy): Promise<unknown> {
    const { channel, type, data } = event
    // The first try goes out now, in this tick's bus batch; only retries wait.
    return this.bus.publish(channel, type, data).catch((err: unknown) => {
      if (!retries || !isTransient(err)) throw err
      return retries.execute(() => this.bus.publish(channel, type, data))
    })
  }

  private forget(ids: readonly number[]): void {
    if (ids.length === 0) return
    this.forgetting.push(...ids)
    this.forgetTimer ??= setTimeout(() => void this.flush(), FORGET_DELAY_MS).unref()
  }

  private async delete(ids: readonly number[], tx?: Tx): Promise<void> {
    // A lost delete only means a duplicate publish, so it need not wait for the WAL flush.
    if (this.sql.postgres) await this.sql.rows('DELETE FROM orchestrator_outbox WHERE id = ANY($1::bigint[])', [ids], tx, { relaxed: true })
    else await this.sql.rows('DELETE FROM orchestrator_outbox WHERE id IN (SELECT value FROM json_each($1))', [JSON.stringify(ids)], tx)
  }
}

/** A stored row as the event it records. */
function storedEvent(row: Row): OutboxEvent {
  const type = row.type as string
  const data = typeof row.data === 'string' ? JSON.parse(row.data) : row.data
  const fromRow = FROM_ROW[type]
  return { channel: row.channel as string, type, data: fromRow ? fromRow(data as Row) : data }
}
