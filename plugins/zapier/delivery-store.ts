// Outbound deliveries' rows: one per subscription and bus event, claimed with a lease by the
// delivery worker, every attempt recorded. Times come from the caller's clock (tests use a fake one).
import { randomUUID } from 'node:crypto'
import type { Sql } from './sql.js'

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed'

export interface Delivery {
  id: string
  subscriptionId: string
  event: string
  payload: string
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: number
  lastStatus: number | null
  lastError: string | null
  createdAt: number
  finishedAt: number | null
}

export interface Attempt {
  attempt: number
  at: number
  statusCode: number | null
  error: string | null
  durationMs: number
}

interface DeliveryRow {
  id: string
  subscription_id: string
  event: string
  payload: string
  status: DeliveryStatus
  attempts: number | string
  next_attempt_at: number | string
  last_status: number | null
  last_error: string | null
  created_at: number | string
  finished_at: number | string | null
}

const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  event: r.event,
  payload: r.payload,
  status: r.status,
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error,
  createdAt: Number(r.created_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at)
})

/**
 * Sending's own bookkeeping commits without waiting for the WAL flush: one lost in a crash means the
 * delivery is sent again (at-least-once; receivers de-duplicate on webhook-id). New deliveries and
 * final failures are durable.
 */
const RELAXED = { relaxed: true }

const COLUMNS = 'id, subscription_id, event, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, finished_at'

export class DeliveryStore {
  constructor(private readonly sql: Sql) {}

  /** Queues one delivery per subscription; a bus event heard twice (two replicas) adds nothing. */
  async enqueue(subscriptionIds: readonly string[], eventKey: string, event: string, payload: string, now: number): Promise<number> {
    let added = 0
    for (const subscriptionId of subscriptionIds) {
      const rows = await this.sql.rows(
        `INSERT INTO zapier_deliveries (id, subscription_id, event_key, event, payload, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (subscription_id, event_key) DO NOTHING RETURNING id`,
        [randomUUID(), subscriptionId, eventKey, event, payload, now]
      )
      added += rows.length
    }
    return added
  }

  /** Claims due deliveries (and those whose sender's lease ran out) for `owner`. */
  async claim(owner: string, limit: number, now: number, leaseMs: number): Promise<Delivery[]> {
    const due = `SELECT id FROM zapier_deliveries WHERE (status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until < $3)
                 ORDER BY next_attempt_at LIMIT $4${this.sql.postgres ? ' FOR UPDATE SKIP LOCKED' : ''}`
    const rows = await this.sql.rows<DeliveryRow>(
      `UPDATE zapier_deliveries SET status = 'sending', lease_owner = $1, lease_until = $2 WHERE id IN (${due}) RETURNING ${COLUMNS}`,
      [owner, now + leaseMs, now, limit],
      RELAXED
    )
    return rows.map(toDelivery)
  }

  async recordAttempt(id: string, attempt: Attempt): Promise<void> {
    await this.sql.run(
      `INSERT INTO zapier_delivery_attempts (id, delivery_id, attempt, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [randomUUID(), id, attempt.attempt, attempt.at, attempt.statusCode, attempt.error, attempt.durationMs],
      RELAXED
    )
  }

  async attempts(id: string): Promise<Attempt[]> {
    const rows = await this.sql.rows<{ attempt: number; at: number | string; status_code: number | null; error: string | null; duration_ms: number }>(
      `SELECT attempt, at, status_code, error, duration_ms FROM zapier_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt`,
      [id]
    )
    return rows.map((r) => ({ attempt: Number(r.attempt), at: Number(r.at), statusCode: r.status_code === null ? null : Number(r.status_code), error: r.error, durationMs: Number(r.duration_ms) }))
  }

  async delivered(id: string, attempts: number, statusCode: number, now: number): Promise<void> {
    await this.sql.run(
      `UPDATE zapier_deliveries SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL, lease_owner = NULL, lease_until = NULL, finished_at = $4 WHERE id = $1`,
      [id, attempts, statusCode, now],
      RELAXED
    )
  }

  async retryAt(id: string, attempts: number, statusCode: number | null, error: string, at: number): Promise<void> {
    await this.sql.run(
      `UPDATE zapier_deliveries SET status = 'pending', attempts = $2, last_status = $3, last_error = $4, next_attempt_at = $5, lease_owner = NULL, lease_until = NULL WHERE id = $1`,
      [id, attempts, statusCode, error, at]
    )
  }

  /** Puts a claimed delivery back untried (the target's rate limit): no attempt counted. */
  async postpone(id: string, at: number): Promise<void> {
    await this.sql.run(`UPDATE zapier_deliveries SET status = 'pending', next_attempt_at = $2, lease_owner = NULL, lease_until = NULL WHERE id = $1`, [id, at], RELAXED)
  }

  async failed(id: string, attempts: number, statusCode: number | null, error: string, now: number): Promise<void> {
    await this.sql.run(
      `UPDATE zapier_deliveries SET status = 'failed', attempts = $2, last_status = $3, last_error = $4, lease_owner = NULL, lease_until = NULL, finished_at = $5 WHERE id = $1`,
      [id, attempts, statusCode, error, now]
    )
  }

  /** Ends every waiting delivery of a subscription that was disabled or deleted. */
  async failPendingOf(subscriptionId: string, error: string, now: number): Promise<void> {
    await this.sql.run(`UPDATE zapier_deliveries SET status = 'failed', last_error = $2, finished_at = $3 WHERE subscription_id = $1 AND status = 'pending'`, [subscriptionId, error, now])
  }

  /** A manual retry: a failed (or waiting) delivery is due now, its schedule started over. */
  async retryNow(id: string, now: number): Promise<boolean> {
    const rows = await this.sql.rows(
      `UPDATE zapier_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2, finished_at = NULL WHERE id = $1 AND status IN ('failed', 'pending') RETURNING id`,
      [id, now]
    )
    return rows.length > 0
  }

  async get(id: string): Promise<Delivery | null> {
    const row = await this.sql.one<DeliveryRow>(`SELECT ${COLUMNS} FROM zapier_deliveries WHERE id = $1`, [id])
    return row ? toDelivery(row) : null
  }

  async list(query: { status?: DeliveryStatus; limit: number; cursor?: string }): Promise<{ items: Delivery[]; nextCursor: string | null }> {
    const where: string[] = []
    const bind: unknown[] = []
    if (query.status) where.push(`status = $${bind.push(query.status)}`)
    if (query.cursor) {
      const [at, id] = Buffer.from(query.cursor, 'base64url').toString().split('|')
      where.push(`(created_at < $${bind.push(Number(at))} OR (created_at = $${bind.push(Number(at))} AND id < $${bind.push(id)}))`)
    }
    const rows = await this.sql.rows<DeliveryRow>(
      `SELECT ${COLUMNS} FROM zapier_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${bind.push(query.limit + 1)}`,
      bind
    )
    const page = rows.slice(0, query.limit)
    const last = page.at(-1)
    return { items: page.map(toDelivery), nextCursor: rows.length > query.limit && last ? Buffer.from(`${last.created_at}|${last.id}`).toString('base64url') : null }
  }
}
