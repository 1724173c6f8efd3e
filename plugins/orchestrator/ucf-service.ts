// The Universal Consciousness Field: six metrics in one row, changed atomically (row lock, clamped),
// each change kept in history and published as `ucf.updated` (through the outbox, stored with the
// change); phase and consciousness level derived.
import type { Bus } from '../../core/bus/types.js'
import { errors } from '../../core/errors.js'
import type { AlertService } from './alert-service.js'
import { Outbox } from './outbox.js'
import type { Row, Sql, Tx } from './sql.js'
import type { UcfHistoryEntry, UcfMetrics, UcfState } from './types.js'

export const METRICS = ['harmony', 'resilience', 'prana', 'drishti', 'klesha', 'zoom'] as const satisfies readonly (keyof UcfMetrics)[]
export type Metric = (typeof METRICS)[number]
export type Deltas = Partial<UcfMetrics>

export const UCF_DEFAULTS: UcfMetrics = { harmony: 0.355, resilience: 1.1191, prana: 0.5175, drishti: 0.5023, klesha: 0.01, zoom: 1.0228 }

/** Upper bound per metric (null: unbounded); every metric is at least 0. */
const UPPER: Record<Metric, number | null> = { harmony: 1, resilience: null, prana: 1, drishti: 1, klesha: 1, zoom: null }

export type Phase = UcfState['phase']

export const HARMONY_CRITICAL = 0.3
export const KLESHA_HIGH = 0.5

export function phaseOf(harmony: number): Phase {
  if (harmony < 0.3) return 'CRITICAL'
  if (harmony < 0.45) return 'UNSTABLE'
  if (harmony < 0.6) return 'COHERENT'
  if (harmony < 0.8) return 'HARMONIOUS'
  return 'TRANSCENDENT'
}

export function consciousnessLevel(m: UcfMetrics): number {
  const raw = ((1.5 * m.harmony + m.resilience + 1.2 * m.prana + 1.2 * m.drishti + 1.5 * (1 - m.klesha) + m.zoom) / 7.4) * 10
  return Math.round(Math.min(10, Math.max(0, raw)) * 100) / 100
}

/** Rounds away float noise so sums of deltas compare exactly. */
const round = (v: number) => Math.round(v * 1e9) / 1e9

export function applyDeltas(m: UcfMetrics, d: Deltas): UcfMetrics {
  const next = { ...m }
  for (const k of METRICS) {
    const upper = UPPER[k]
    const v = Math.max(0, m[k] + (d[k] ?? 0))
    next[k] = round(upper === null ? v : Math.min(upper, v))
  }
  return next
}

export function stateOf(m: UcfMetrics, updatedAt: number): UcfState {
  return { metrics: m, phase: phaseOf(m.harmony), consciousnessLevel: consciousnessLevel(m), updatedAt: new Date(updatedAt).toISOString() }
}

const metricsOf = (r: Row): UcfMetrics => Object.fromEntries(METRICS.map((k) => [k, Number(r[k])])) as UcfMetrics

function stateOfRow(row: Row | null): UcfState {
  if (!row) throw errors.unavailable('The UCF state is not initialised')
  return stateOf(metricsOf(row), Number(row.updated_at))
}

export interface UcfChange {
  before: UcfState
  after: UcfState
  cause: string
  deltas: Deltas
}

export class UcfService {
  constructor(
    private readonly sql: Sql,
    bus: Bus,
    private readonly alerts: AlertService,
    private readonly outbox = new Outbox(sql, bus)
  ) {}

  async get(): Promise<UcfState> {
    const row = await this.sql.one('SELECT * FROM orchestrator_ucf WHERE id = 1', [], undefined, { prepared: 'orchestrator-ucf', plan: 'cached' })
    return stateOfRow(row)
  }

  /**
   * The state and, in the same query, how many commands `agentId` has queued (STATUS reports
   * both; one round trip instead of two).
   */
  async withCount(agentId: string): Promise<[UcfState, number]> {
    const row = await this.sql.one(
      `SELECT u.*, (SELECT COUNT(*) FROM orchestrator_commands q WHERE q.agent_id = $1 AND q.status = 'queued') AS queued FROM orchestrator_ucf u WHERE u.id = 1`,
      [agentId],
      undefined,
      // One plan for every agent: the count reads the agent's entries of the per-agent queue index.
      { prepared: 'orchestrator-ucf-with-count', plan: 'cached' }
    )
    return [stateOfRow(row), Number(row?.queued ?? 0)]
  }

  /**
   * Applies deltas atomically: the row is locked for the read-modify-write, so concurrent changes
   * serialise and none is lost. With a `ref` (a command or ritual id) the change is applied at most
   * once; a repeat returns null. `within` runs in the same transaction (e.g. completing a ritual).
   */
  async apply(deltas: Deltas, cause: string, ref: string | null = null, within?: (tx: Tx, after: UcfState) => Promise<void>): Promise<UcfChange | null> {
    const change = await this.sql.transaction(async (tx) => {
      const lock = this.sql.postgres ? ' FOR UPDATE' : ''
      const row = await this.sql.one(`SELECT * FROM orchestrator_ucf WHERE id = 1${lock}`, [], tx)
      if (!row) throw errors.unavailable('The UCF state is not initialised')
      const before = metricsOf(row)
      const after = applyDeltas(before, deltas)
      const now = Date.now()
      const version = Number(row.version) + 1
      const state = stateOf(after, now)
      // The history row and the change's event, in one statement.
      const [inserted] = await this.outbox.rowsWithEvents(
        `INSERT INTO orchestrator_ucf_history (harmony, resilience, prana, drishti, klesha, zoom, version, cause, ref, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (ref) DO NOTHING RETURNING id`,
        [...METRICS.map((k) => after[k]), version, cause, ref, now],
        { channel: 'ucf', type: 'ucf.updated', data: updatedEvent(state, cause, deltas) },
        { tx }
      )
      if (!inserted) return null
      await this.sql.run(
        `UPDATE orchestrator_ucf SET harmony = $1, resilience = $2, prana = $3, drishti = $4, klesha = $5, zoom = $6, version = $7, updated_at = $8 WHERE id = 1`,
        [...METRICS.map((k) => after[k]), version, now],
        tx
      )
      if (within) await within(tx, state)
      return { before: stateOf(before, Number(row.updated_at)), after: state, cause, deltas, outbox: Number(inserted.outbox_id) }
    }, { relaxed: ref !== null })
    if (!change) return null
    const { outbox, ...applied } = change
    await this.announce(applied, outbox)
    return applied
  }

  private async announce(change: UcfChange, outbox: number): Promise<void> {
    this.outbox.publish([{ channel: 'ucf', type: 'ucf.updated', data: updatedEvent(change.after, change.cause, change.deltas) }], [outbox])
    const { before, after } = change
    await this.alerts.transition(before.metrics.harmony < HARMONY_CRITICAL, after.metrics.harmony < HARMONY_CRITICAL, {
      key: 'ucf.harmony_low',
      kind: 'ucf',
      severity: 'critical',
      message: `Harmony fell below ${HARMONY_CRITICAL} (${after.metrics.harmony})`,
      data: { harmony: after.metrics.harmony, phase: after.phase }
    })
    await this.alerts.transition(before.metrics.klesha > KLESHA_HIGH, after.metrics.klesha > KLESHA_HIGH, {
      key: 'ucf.klesha_high',
      kind: 'ucf',
      severity: 'high',
      message: `Klesha rose above ${KLESHA_HIGH} (${after.metrics.klesha})`,
      data: { klesha: after.metrics.klesha }
    })
  }

  /** History, oldest first: after `cursor`, or from `since`, or the newest `limit` entries. */
  async history(query: { since?: number; cursor?: string; limit: number }): Promise<{ items: UcfHistoryEntry[]; nextCursor: string | null }> {
    let rows: Row[]
    if (query.cursor !== undefined || query.since !== undefined) {
      const [clause, value] = query.cursor !== undefined ? ['id > $1', cursorId(query.cursor)] : ['at >= $1', query.since]
      rows = await this.sql.rows(`SELECT * FROM orchestrator_ucf_history WHERE ${clause} ORDER BY id LIMIT $2`, [value, query.limit + 1])
    } else {
      rows = (await this.sql.rows(`SELECT * FROM orchestrator_ucf_history ORDER BY id DESC LIMIT $1`, [query.limit])).reverse()
    }
    const more = rows.length > query.limit
    const items = rows.slice(0, query.limit).map((r) => ({ id: String(r.id), ...stateOf(metricsOf(r), Number(r.at)), cause: r.cause as string }))
    return { items, nextCursor: more ? items.at(-1)!.id : null }
  }
}

/** The data of `ucf.updated`: the new state, what changed it and by how much. */
function updatedEvent(state: UcfState, cause: string, deltas: Deltas) {
  return { ...state, cause, deltas }
}

function cursorId(cursor: string): number {
  const id = Number(cursor)
  if (!Number.isSafeInteger(id) || id < 0) throw errors.badRequest('The cursor is not valid')
  return id
}
