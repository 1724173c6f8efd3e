// The inbound events' rows (DESIGN section 11): `received` is committed before the 202 and is the
// record; a row is claimed (`processing`, with a lease) before a handler runs, and ends `processed`
// or `failed` with the error. The work queue only carries ids.
import { randomUUID } from 'node:crypto'
import { parseJson, type Sql } from './sql.js'

export const EVENT_STATUSES = ['received', 'processing', 'processed', 'failed'] as const
export type EventStatus = (typeof EVENT_STATUSES)[number]

export interface InboundEvent {
  id: string
  source: string
  externalId: string
  type: string
  data: Record<string, unknown>
  status: EventStatus
  attempts: number
  result: unknown
  error: string | null
  receivedAt: string
  finishedAt: string | null
}

interface EventRow {
  id: string
  source: string
  external_id: string
  type: string
  data: unknown
  status: EventStatus
  attempts: number | string
  result: unknown
  error: string | null
  received_at: number | string
  finished_at: number | string | null
}

function toEvent(row: EventRow): InboundEvent {
  return {
    id: row.id,
    source: row.source,
    externalId: row.external_id,
    type: row.type,
    data: parseJson(row.data),
    status: row.status,
    attempts: Number(row.attempts),
    result: row.result === null ? null : parseJson(row.result),
    error: row.error,
    receivedAt: new Date(Number(row.received_at)).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(Number(row.finished_at)).toISOString()
  }
}

/**
 * A claim and a release commit without waiting for the WAL flush: their queue entry stays pending
 * until the run's end is recorded, so one lost in a crash only means the event runs again (handlers
 * are idempotent). The `received` row and a run's end are durable: the entry is acknowledged and
 * deleted right after the end is recorded, and an end lost in a PostgreSQL crash would leave the row
 * unfinished with nothing left to run it. A durable commit also flushes the claim before it.
 */
const RELAXED = { relaxed: true }

const COLUMNS = 'id, source, external_id, type, data, status, attempts, result, error, received_at, finished_at'

interface Incoming {
  source: string
  externalId: string | null
  type: string
  data: unknown
  now: number
}

/** An event's end as bound to the UPDATE: id, status, result (JSON), error, finished at. */
type Ending = [string, 'processed' | 'failed', string | null, string | null, number]

/** Events one INSERT stores at most (6 parameters each). */
const MAX_BATCH = 500
/** INSERTs in flight at once: a new event starts one at once while fewer are, rather than wait for a commit. */
const PARALLEL_INSERTS = 4

export class EventStore {
  private readonly waiting: { input: Incoming; resolve(id: string | null): void; reject(err: unknown): void }[] = []
  private inserting = 0
  private readonly ending: { row: Ending; resolve(): void; reject(err: unknown): void }[] = []
  private readonly claiming: { id: string; resolve(event: InboundEvent | null): void; reject(err: unknown): void }[] = []

  constructor(private readonly sql: Sql) {}

  /** Stores a verified event; null when this source already sent this id (a duplicate). */
  receive(input: Incoming): Promise<string | null> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject })
      if (this.inserting < PARALLEL_INSERTS) void this.insertWaiting()
    })
  }

  /**
   * Group commit: events that arrive while INSERTs are in flight go in the next one together, so a
   * burst costs one WAL flush per batch instead of one per event, and a lone event waits for nothing.
   */
  private async insertWaiting(): Promise<void> {
    this.inserting++
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH)
      try {
        const ids = batch.map(() => randomUUID())
        const bind: unknown[] = []
        const values = batch.map(({ input }, i) => {
          const at = bind.length
          bind.push(ids[i], input.source, input.externalId ?? ids[i], input.type, this.sql.json(input.data), input.now)
          return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, 'received', 0, $${at + 6}, $${at + 6})`
        })
        const rows = await this.sql.rows<{ id: string }>(
          `INSERT INTO zapier_events (id, source, external_id, type, data, status, attempts, enqueued_at, received_at)
           VALUES ${values.join(', ')} ON CONFLICT (source, external_id) DO NOTHING RETURNING id`,
          bind
        )
        const stored = new Set(rows.map((r) => r.id))
        batch.forEach((w, i) => w.resolve(stored.has(ids[i]!) ? ids[i]! : null))
      } catch (err) {
        for (const w of batch) w.reject(err)
      }
    }
    this.inserting--
  }

  async get(id: string): Promise<InboundEvent | null> {
    const row = await this.sql.one<EventRow>(`SELECT ${COLUMNS} FROM zapier_events WHERE id = $1`, [id])
    return row ? toEvent(row) : null
  }

  /** Newest first; `before` is the received_at/id cursor of the previous page. */
  async list(query: { status?: EventStatus; limit: number; cursor?: string }): Promise<{ items: InboundEvent[]; nextCursor: string | null }> {
    const where: string[] = []
    const bind: unknown[] = []
    if (query.status) where.push(`status = $${bind.push(query.status)}`)
    if (query.cursor) {
      const [at, id] = Buffer.from(query.cursor, 'base64url').toString().split('|')
      where.push(`(received_at < $${bind.push(Number(at))} OR (received_at = $${bind.push(Number(at))} AND id < $${bind.push(id)}))`)
    }
    const rows = await this.sql.rows<EventRow>(
      `SELECT ${COLUMNS} FROM zapier_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, id DESC LIMIT $${bind.push(query.limit + 1)}`,
      bind
    )
    const page = rows.slice(0, query.limit)
    const last = page.at(-1)
    const nextCursor = rows.length > query.limit && last ? Buffer.from(`${last.received_at}|${last.id}`).toString('base64url') : null
    return { items: page.map(toEvent), nextCursor }
  }

  /**
   * Takes the event for one run: a `received` row, or a `processing` one whose runner's lease ran
   * out (it died). Null when it is done or another runner holds it: the queue entry is then stale.
   * The claims of one tick share one UPDATE.
   */
  claim(id: string, now: number, leaseMs: number): Promise<InboundEvent | null> {
    return new Promise((resolve, reject) => {
      this.claiming.push({ id, resolve, reject })
      if (this.claiming.length === 1) setImmediate(() => void this.claimWaiting(now, leaseMs))
    })
  }

  private async claimWaiting(now: number, leaseMs: number): Promise<void> {
    const batch = this.claiming.splice(0, this.claiming.length)
    try {
      const ids = [...new Set(batch.map((c) => c.id))]
      const rows = await this.sql.rows<EventRow>(
        `UPDATE zapier_events SET status = 'processing', attempts = attempts + 1, lease_until = $1
         WHERE id IN (${ids.map((_, i) => `$${i + 3}`).join(', ')}) AND (status = 'received' OR (status = 'processing' AND lease_until < $2)) RETURNING ${COLUMNS}`,
        [now + leaseMs, now, ...ids],
        RELAXED
      )
      const byId = new Map(rows.map((r) => [r.id, r]))
      for (const c of batch) {
        const row = byId.get(c.id)
        // Two entries for one event in the same batch: only the first runs it.
        byId.delete(c.id)
        c.resolve(row ? toEvent(row) : null)
      }
    } catch (err) {
      for (const c of batch) c.reject(err)
    }
  }

  /** Records how a run ended, durably; on PostgreSQL the ends of one tick share one UPDATE (and one WAL flush). */
  finish(id: string, outcome: { status: 'processed'; result: unknown } | { status: 'failed'; error: string }, now: number): Promise<void> {
    const row: Ending = [id, outcome.status, outcome.status === 'processed' ? this.sql.json(outcome.result) : null, outcome.status === 'failed' ? outcome.error : null, now]
    if (!this.sql.postgres) return this.sql.run(`UPDATE zapier_events SET status = $2, result = $3, error = $4, lease_until = NULL, finished_at = $5 WHERE id = $1`, row)
    return new Promise((resolve, reject) => {
      this.ending.push({ row, resolve, reject })
      if (this.ending.length === 1) setImmediate(() => void this.finishWaiting())
    })
  }

  private async finishWaiting(): Promise<void> {
    const batch = this.ending.splice(0, this.ending.length)
    try {
      const bind = batch.flatMap((e) => e.row)
      const values = batch.map((_, i) => `($${i * 5 + 1}::uuid, $${i * 5 + 2}, $${i * 5 + 3}::jsonb, $${i * 5 + 4}, $${i * 5 + 5}::bigint)`)
      await this.sql.run(
        `UPDATE zapier_events AS e SET status = v.status, result = v.result, error = v.error, lease_until = NULL, finished_at = v.finished_at
         FROM (VALUES ${values.join(', ')}) AS v(id, status, result, error, finished_at) WHERE e.id = v.id`,
        bind
      )
      for (const e of batch) e.resolve()
    } catch (err) {
      for (const e of batch) e.reject(err)
    }
  }

  /** Hands the event back for a later run (a transient failure): `received` again, its attempt counted. */
  async release(id: string, error: string): Promise<void> {
    await this.sql.run(`UPDATE zapier_events SET status = 'received', error = $2, lease_until = NULL WHERE id = $1 AND status = 'processing'`, [id, error], RELAXED)
  }

  /** Puts an event back to run again (replay): `received`, attempts from zero. */
  async reset(id: string, now: number): Promise<boolean> {
    const rows = await this.sql.rows(
      `UPDATE zapier_events SET status = 'received', attempts = 0, error = NULL, lease_until = NULL, finished_at = NULL, enqueued_at = $2
       WHERE id = $1 AND status <> 'processing' RETURNING id`,
      [id, now]
    )
    return rows.length > 0
  }

  /**
   * Events not yet processed whose queue entry may be gone (Redis lost its data, or the push after
   * the commit failed): `received` rows enqueued before `olderThan`, and `processing` rows whose lease
   * ran out. Their enqueue time moves to now, so a sweep re-adds each once per period, and the pages
   * of one sweep (all taken at the same `now`) never take a row twice.
   */
  async takeStranded(olderThan: number, now: number, limit: number): Promise<string[]> {
    const rows = await this.sql.rows<{ id: string }>(
      `UPDATE zapier_events SET enqueued_at = $2 WHERE id IN (
         SELECT id FROM zapier_events
         WHERE (status = 'received' AND enqueued_at < $1) OR (status = 'processing' AND lease_until < $2 AND enqueued_at < $2)
         ORDER BY received_at LIMIT $3) RETURNING id`,
      [olderThan, now, limit]
    )
    return rows.map((r) => r.id)
  }
}
