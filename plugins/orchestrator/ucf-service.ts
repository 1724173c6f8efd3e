// The Universal Consciousness Field: six metrics in one row, changed atomically (row lock, clamped),
// each change kept in history and published as `ucf.updated` (through the outbox, stored with the
// change); phase and consciousness level derived (ucf-state.ts).
import type { Bus } from '../../core/bus/types.js'
import { errors } from '../../core/errors.js'
import { noTracing, type Tracing } from '../../core/trace.js'
import type { AlertService } from './alert-service.js'
import { Outbox } from './outbox.js'
import { SharedRoundTrip } from './round-trips.js'
import { parseJson } from './rows.js'
import type { Row, Sql, Tx } from './sql.js'
import type { UcfHistoryEntry, UcfState } from './types.js'
import { applyDeltas, HARMONY_CRITICAL, KLESHA_HIGH, METRICS, metricsOf, stateOf, UPPER, type Deltas, type Metric } from './ucf-state.js'

export { consciousnessLevel, HARMONY_CRITICAL, KLESHA_HIGH, METRICS, phaseOf, stateOf, UCF_DEFAULTS, type Deltas, type Metric, type Phase } from './ucf-state.js'

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

/** A committed change and the outbox row of its event. */
type AppliedChange = UcfChange & { outbox: number }

export class UcfService {
  /** STATUS reads of several agents, answered by one query (withCount). */
  private readonly statusReads: SharedRoundTrip<string, [UcfState, number]>

  constructor(
    private readonly sql: Sql,
    bus: Bus,
    private readonly alerts: AlertService,
    private readonly outbox = new Outbox(sql, bus),
    trace: Tracing = noTracing
  ) {
    this.statusReads = new SharedRoundTrip((agentIds) => this.readStatuses(agentIds), trace)
  }

  /** The UCF and the queued counts of these agents, in one query. */
  private async readStatuses(agentIds: string[]): Promise<[UcfState, number][]> {
    const row = await this.sql.one(
      this.sql.postgres
        ? `SELECT u.*, (SELECT json_object_agg(q.agent_id, q.n) FROM (
             SELECT agent_id, COUNT(*) AS n FROM orchestrator_commands WHERE agent_id = ANY($1::uuid[]) AND status = 'queued' GROUP BY agent_id
           ) q) AS queued FROM orchestrator_ucf u WHERE u.id = 1`
        : `SELECT u.*, (SELECT json_group_object(q.agent_id, q.n) FROM (
             SELECT agent_id, COUNT(*) AS n FROM orchestrator_commands WHERE agent_id IN (SELECT value FROM json_each($1)) AND status = 'queued' GROUP BY agent_id
           ) q) AS queued FROM orchestrator_ucf u WHERE u.id = 1`,
      [this.sql.postgres ? agentIds : JSON.stringify(agentIds)],
      undefined,
      // One plan for any agents: the counts read their entries of the per-agent queue index.
      { prepared: 'orchestrator-ucf-with-counts', plan: 'cached' }
    )
    const state = stateOfRow(row)
    const queued = parseJson<Record<string, number> | null>(row?.queued ?? null) ?? {}
    return agentIds.map((id) => [state, Number(queued[id] ?? 0)])
  }

  async get(): Promise<UcfState> {
    const row = await this.sql.one('SELECT * FROM orchestrator_ucf WHERE id = 1', [], undefined, { prepared: 'orchestrator-ucf', plan: 'cached' })
    return stateOfRow(row)
  }

  /**
   * The state and, in the same query, how many commands `agentId` has queued (STATUS reports
   * both). The STATUS commands of every agent running one at about the same time share that query.
   */
  withCount(agentId: string): Promise<[UcfState, number]> {
    return this.statusReads.run(agentId)
  }

  /**
   * Applies deltas atomically: concurrent changes serialise on the row's lock and none is lost. With
   * a `ref` (a command or ritual id) the change is applied at most once; a repeat returns null.
   * `within` runs in the same transaction (e.g. completing a ritual).
   */
  async apply(deltas: Deltas, cause: string, ref: string | null = null, within?: (tx: Tx, after: UcfState) => Promise<void>): Promise<UcfChange | null> {
    const change = this.sql.postgres ? await this.applyInOneStatement(deltas, cause, ref, within) : await this.applyInTransaction(deltas, cause, ref, within)
    if (!change) return null
    const { outbox, ...applied } = change
    await this.announce(applied, outbox)
    return applied
  }

  /**
   * PostgreSQL: the lock, the clamped sums, the history row, the new state and its event are one
   * statement, so the row is locked for one round trip instead of five and a WAL flush. The sums
   * are NUMERIC rounded to 9 places, so repeated deltas add up exactly.
   */
  private async applyInOneStatement(deltas: Deltas, cause: string, ref: string | null, within?: (tx: Tx, after: UcfState) => Promise<void>): Promise<AppliedChange | null> {
    const now = this.sql.now
    const bind = [...METRICS.map((k) => deltas[k] ?? 0), cause, ref, this.sql.json(deltas)]
    const sum = (k: Metric, i: number) => {
      const v = `GREATEST(0, cur.${k}::numeric + $${i + 1}::numeric)`
      return `round(${UPPER[k] === null ? v : `LEAST(${UPPER[k]}, ${v})`}, 9)::float8 AS ${k}`
    }
    const statement = `WITH cur AS (SELECT * FROM orchestrator_ucf WHERE id = 1 FOR UPDATE),
      h AS (
        INSERT INTO orchestrator_ucf_history (${METRICS.join(', ')}, version, cause, ref, at)
        SELECT ${METRICS.join(', ')}, version, $7, $8, at FROM (SELECT ${METRICS.map(sum).join(', ')}, cur.version + 1 AS version, ${now} AS at FROM cur) n
        ON CONFLICT (ref) DO NOTHING RETURNING *
      ), u AS (
        UPDATE orchestrator_ucf AS s SET ${METRICS.map((k) => `${k} = h.${k}`).join(', ')}, version = h.version, updated_at = h.at FROM h WHERE s.id = 1 RETURNING s.id
      ), o AS (
        INSERT INTO orchestrator_outbox (channel, type, ref, data, created_at)
        SELECT 'ucf', 'ucf.updated', h.id::text, to_jsonb(h) || jsonb_build_object('deltas', $9::jsonb), h.at FROM h RETURNING id
      )
      SELECT row_to_json(cur) AS before, row_to_json(h) AS after, (SELECT id FROM o) AS outbox_id FROM cur LEFT JOIN h ON true`
    const run = async (tx?: Tx) => {
      // Commits without waiting for the WAL flush, so the next writer's lock is free at once.
      const row = await this.sql.one<{ before: Row | null; after: Row | null; outbox_id: string | number | null }>(statement, bind, tx, { prepared: tx ? undefined : 'orchestrator-ucf-apply', relaxed: true })
      // A change without a ref must be durable before it is answered: a durable commit flushes the
      // WAL up to itself, this change included, and concurrent writers share that flush.
      if (!tx && ref === null) await this.sql.run('SELECT txid_current()')
      if (!row?.before) throw errors.unavailable('The UCF state is not initialised')
      if (!row.after) return null
      const after = stateOf(metricsOf(row.after), Number(row.after.at))
      if (within && tx) await within(tx, after)
      return { before: stateOf(metricsOf(row.before), Number(row.before.updated_at)), after, cause, deltas, outbox: Number(row.outbox_id) }
    }
    return within ? this.sql.transaction(run, { relaxed: ref !== null }) : run()
  }

  /** SQLite (one process, statements take turns): read, add and write inside one transaction. */
  private applyInTransaction(deltas: Deltas, cause: string, ref: string | null, within?: (tx: Tx, after: UcfState) => Promise<void>): Promise<AppliedChange | null> {
    return this.sql.transaction(async (tx) => {
      const row = await this.sql.one('SELECT * FROM orchestrator_ucf WHERE id = 1', [], tx)
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
    })
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
