// Alerts: raised when a watched condition starts (low harmony, high klesha, an agent in error, a
// stale command queue) and resolved when it ends; stored, published on `alerts` (through the outbox),
// listed by the API.
import { randomUUID } from 'node:crypto'
import type { Bus } from '../../core/bus/types.js'
import { errors } from '../../core/errors.js'
import { Outbox } from './outbox.js'
import { toAlert, UUID_RE } from './rows.js'
import type { Row, Sql } from './sql.js'
import type { Alert, AlertQuery } from './types.js'

export interface AlertSpec {
  key: string
  kind: string
  severity: Alert['severity']
  message: string
  data?: Record<string, unknown>
}

export class AlertService {
  constructor(
    private readonly sql: Sql,
    bus: Bus,
    private readonly outbox = new Outbox(sql, bus)
  ) {}

  /** Opens the alert unless the same condition is already open; publishes `alert.raised` once. */
  async raise(spec: AlertSpec): Promise<Alert | null> {
    const [row] = await this.outbox.rowsWithEvents(
      `INSERT INTO orchestrator_alerts (id, key, kind, severity, state, message, data, raised_at)
       VALUES ($1, $2, $3, $4, 'open', $5, $6, $7)
       ON CONFLICT (key) WHERE state = 'open' DO NOTHING RETURNING *`,
      [randomUUID(), spec.key, spec.kind, spec.severity, spec.message, this.sql.json(spec.data ?? {}), Date.now()],
      { channel: 'alerts', type: 'alert.raised' }
    )
    return row ? this.announce('alert.raised', row) : null
  }

  /** Closes the open alert for the condition, if any; publishes `alert.resolved` once. */
  async resolve(key: string): Promise<Alert | null> {
    const [row] = await this.outbox.rowsWithEvents(
      `UPDATE orchestrator_alerts SET state = 'resolved', resolved_at = $2 WHERE key = $1 AND state = 'open' RETURNING *`,
      [key, Date.now()],
      { channel: 'alerts', type: 'alert.resolved' }
    )
    return row ? this.announce('alert.resolved', row) : null
  }

  private announce(type: 'alert.raised' | 'alert.resolved', row: Row): Alert {
    const alert = toAlert(row)
    this.outbox.publish([{ channel: 'alerts', type, data: alert }], [Number(row.outbox_id)])
    return alert
  }

  /** Raises or resolves on a transition of the condition between two observations. */
  async transition(before: boolean, after: boolean, spec: AlertSpec): Promise<void> {
    if (!before && after) await this.raise(spec)
    else if (before && !after) await this.resolve(spec.key)
  }

  async list(query: AlertQuery): Promise<{ items: Alert[]; nextCursor: string | null }> {
    const where: string[] = []
    const bind: unknown[] = []
    if (query.state) {
      bind.push(query.state)
      where.push(`state = $${bind.length}`)
    }
    if (query.cursor) {
      const [at, id] = decodeCursor(query.cursor)
      bind.push(at, id)
      where.push(`(raised_at < $${bind.length - 1} OR (raised_at = $${bind.length - 1} AND id < $${bind.length}))`)
    }
    bind.push(query.limit + 1)
    const rows = await this.sql.rows<Row>(
      `SELECT * FROM orchestrator_alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY raised_at DESC, id DESC LIMIT $${bind.length}`,
      bind
    )
    const more = rows.length > query.limit
    const items = rows.slice(0, query.limit)
    const last = items.at(-1)
    return { items: items.map(toAlert), nextCursor: more && last ? encodeCursor(Number(last.raised_at), last.id as string) : null }
  }
}

function encodeCursor(at: number, id: string): string {
  return Buffer.from(`${at}:${id}`).toString('base64url')
}

function decodeCursor(cursor: string): [number, string] {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split(':')
  if (!Number.isSafeInteger(Number(at)) || !UUID_RE.test(id ?? '')) throw errors.badRequest('The cursor is not valid')
  return [Number(at), id]
}
