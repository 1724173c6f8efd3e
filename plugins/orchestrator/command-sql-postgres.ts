// The command queue's PostgreSQL statements: a claim takes agent rows FOR NO KEY UPDATE SKIP LOCKED,
// so replicas never pick the same agent, and each transition is one statement (one round trip) that
// also stores its events in the outbox (outbox.ts).
import type { Claimed, Settled, SettledWithNext, Success } from './command-types.js'
import { AGENT_EVENT, COMMAND_EVENT, KEEP_ERROR_REASON, type CommandDialect, type Release } from './command-dal.js'
import type { Outbox } from './outbox.js'
import { toAgent, toCommand } from './rows.js'
import type { Row, Sql } from './sql.js'

/** node-postgres hands back bigint[] as strings. */
const ids = (value: unknown): number[] => ((value as (string | number)[] | null) ?? []).map(Number)

export class PostgresCommandSql implements CommandDialect {
  constructor(
    private readonly sql: Sql,
    private readonly outbox: Outbox
  ) {}

  async claim(owner: string, limit: number, leaseMs: number): Promise<Claimed[]> {
    const now = this.sql.now
    // The agent row lock is the per-agent serialisation point: a replica that races for the same
    // agent skips it, and a committed claim makes running_command_id non-null, which the lock rechecks.
    const rows = await this.sql.rows(
      `WITH picked AS (
         SELECT a.id FROM orchestrator_agents a
         WHERE a.running_command_id IS NULL
           AND EXISTS (SELECT 1 FROM orchestrator_commands q WHERE q.agent_id = a.id AND q.status = 'queued')
         LIMIT $1 FOR NO KEY UPDATE OF a SKIP LOCKED
       ), nxt AS (
         SELECT n.seq FROM picked p CROSS JOIN LATERAL (
           SELECT q.seq FROM orchestrator_commands q WHERE q.agent_id = p.id AND q.status = 'queued' ORDER BY q.seq LIMIT 1
         ) n
       ), cmd AS (
         UPDATE orchestrator_commands c SET status = 'running', started_at = ${now}, lease_owner = $2, lease_until = ${now} + $3::bigint,
           deadline_at = ${now} + c.timeout_ms, attempts = c.attempts + 1
         FROM nxt WHERE c.seq = nxt.seq AND c.status = 'queued' RETURNING c.*
       ), ag AS (
         UPDATE orchestrator_agents a SET running_command_id = cmd.id, status = 'busy', status_reason = ${KEEP_ERROR_REASON}, last_seen_at = cmd.started_at
         FROM cmd WHERE a.id = cmd.agent_id RETURNING a.*
       ), o AS (${this.outbox.insertFrom([{ cte: 'cmd', ...COMMAND_EVENT }, { cte: 'ag', ...AGENT_EVENT }])})
       SELECT cmd.*, row_to_json(ag) AS agent, ARRAY(SELECT o.id FROM o WHERE o.ref IN (cmd.id::text, ag.id::text)) AS outbox_ids
       FROM cmd JOIN ag ON ag.id = cmd.agent_id`,
      [limit, owner, leaseMs],
      undefined,
      // Unnamed, so planned for the call: claims are rare (an agent with a backlog is handed its
      // next command by finish), and the plan depends on which agents have work.
      { relaxed: true }
    )
    return rows.map((row) => ({ row, command: toCommand(row), agent: toAgent(row.agent as Row), outbox: ids(row.outbox_ids) }))
  }

  async finishAndClaimNext(owner: string, done: readonly Success[], leaseMs: number): Promise<SettledWithNext[]> {
    const now = this.sql.now
    // `prev` reads `c` and `nxt` reads `prev`, so each finished command leaves 'running' before its
    // agent's next one enters it (the one-running-per-agent index). The agent rows are updated last,
    // from what really happened: a next command cancelled meanwhile leaves its agent idle.
    //
    // This statement runs for nearly every command, so it runs on one cached plan, which has to be
    // right for any batch and any table. Three things pin that plan:
    // - `c` finds its rows by id (= ANY of an array) and names its status through a parameter, so
    //   only the id index can find them (the status indexes, partial ones included, cannot prove they
    //   hold them);
    // - each queue head is looked up as a range on agent_id ordered by (agent_id, seq), an order only
    //   the per-agent indexes give: the primary key would walk the whole history in seq order;
    // - the next commands are updated by their ctid, found by that lookup.
    const rows = await this.sql.rows(
      `WITH c AS (
         UPDATE orchestrator_commands AS c SET status = 'succeeded', result = ($2::jsonb[])[array_position($1::uuid[], c.id)], error = NULL,
           finished_at = ${now}, lease_until = NULL
         WHERE c.id = ANY($1::uuid[]) AND c.status = ANY($5::varchar[]) AND c.lease_owner = $3 RETURNING c.*
       ), prev AS (
         SELECT a.id, c.id AS command_id, c.finished_at, (a.status = 'error' OR a.status_reason IS NOT NULL) AS was_error
         FROM orchestrator_agents a JOIN c ON a.id = c.agent_id AND a.running_command_id = c.id
       ), nxt AS (
         SELECT prev.id AS agent_id, n.tid FROM prev CROSS JOIN LATERAL (
           SELECT q.ctid AS tid FROM orchestrator_commands q
           WHERE q.agent_id >= prev.id AND q.agent_id <= prev.id AND q.status = 'queued'
           ORDER BY q.agent_id, q.seq LIMIT 1
         ) n
       ), started AS (
         UPDATE orchestrator_commands n SET status = 'running', started_at = ${now}, lease_owner = $3, lease_until = ${now} + $4::bigint,
           deadline_at = ${now} + n.timeout_ms, attempts = n.attempts + 1
         FROM nxt WHERE n.ctid = nxt.tid AND n.agent_id = nxt.agent_id AND n.status = 'queued' RETURNING n.*
       ), ag AS (
         UPDATE orchestrator_agents a SET running_command_id = s.id,
           status = CASE WHEN s.id IS NULL THEN 'idle' ELSE 'busy' END,
           status_reason = NULL, last_seen_at = prev.finished_at
         FROM prev LEFT JOIN started s ON s.agent_id = prev.id
         WHERE a.id = prev.id AND a.running_command_id = prev.command_id RETURNING a.*
       ), o AS (${this.outbox.insertFrom([{ cte: 'c', ...COMMAND_EVENT }, { cte: 'ag', ...AGENT_EVENT }, { cte: 'started', ...COMMAND_EVENT }])})
       SELECT c.*, row_to_json(ag) AS agent, COALESCE(prev.was_error, false) AS was_error, row_to_json(s) AS next,
         ARRAY(SELECT o.id FROM o WHERE o.ref IN (c.id::text, ag.id::text, s.id::text)) AS outbox_ids
       FROM c LEFT JOIN prev ON prev.command_id = c.id LEFT JOIN ag ON ag.id = prev.id LEFT JOIN started s ON s.agent_id = prev.id`,
      [done.map((d) => d.id), done.map((d) => this.sql.json(d.result ?? null)), owner, leaseMs, ['running']],
      undefined,
      { prepared: 'orchestrator-finish-next', plan: 'cached' }
    )
    return rows.map((row) => {
      const agent = row.agent ? toAgent(row.agent as Row) : null
      // The next command's events are among the finished one's outbox rows.
      const next = row.next && agent ? { row: row.next as Row, command: toCommand(row.next as Row), agent, outbox: [] } : null
      return { command: toCommand(row), agent, wasError: Boolean(row.was_error), next, outbox: ids(row.outbox_ids) }
    })
  }

  /** One statement: the command's outcome and its agent's release commit together. */
  async settle(finish: string, bind: unknown[], release: Release, relaxed: boolean): Promise<Settled | null> {
    bind.push(release.status, release.reason)
    const [s, r] = [`$${bind.length - 1}::varchar`, `$${bind.length}::varchar`]
    const row = await this.sql.one(
      `WITH c AS (${finish}),
         prev AS (
           SELECT a.id, (a.status = 'error' OR a.status_reason IS NOT NULL) AS was_error, a.status_reason
           FROM orchestrator_agents a JOIN c ON a.id = c.agent_id AND a.running_command_id = c.id
         ), nxt AS (
           SELECT prev.id, CASE WHEN ${s} = 'idle' AND c.status = 'cancelled' AND prev.was_error THEN 'error' ELSE ${s} END AS status
           FROM prev JOIN c ON c.agent_id = prev.id
         ), ag AS (
           UPDATE orchestrator_agents a SET running_command_id = NULL, status = nxt.status,
             status_reason = CASE WHEN nxt.status = 'error' THEN COALESCE(${r}, prev.status_reason, 'error') ELSE NULL END,
             last_seen_at = c.finished_at
           FROM c, prev, nxt WHERE a.id = c.agent_id AND a.id = prev.id AND a.id = nxt.id AND a.running_command_id = c.id RETURNING a.*
         ), o AS (${this.outbox.insertFrom([{ cte: 'c', ...COMMAND_EVENT }, { cte: 'ag', ...AGENT_EVENT }])})
         SELECT c.*, row_to_json(ag) AS agent, COALESCE(prev.was_error, false) AS was_error, ARRAY(SELECT o.id FROM o) AS outbox_ids
         FROM c LEFT JOIN ag ON ag.id = c.agent_id LEFT JOIN prev ON prev.id = c.agent_id`,
      bind,
      undefined,
      { relaxed }
    )
    return row ? { command: toCommand(row), agent: row.agent ? toAgent(row.agent as Row) : null, wasError: Boolean(row.was_error), outbox: ids(row.outbox_ids) } : null
  }
}
