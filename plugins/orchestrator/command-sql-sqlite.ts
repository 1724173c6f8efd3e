// The command queue's SQLite statements, for the embedded default: one process with one connection,
// so a transaction is the lock, and a transition is a few statements inside one, its events' outbox
// rows (outbox.ts) among them.
import type { Claimed, Settled } from './command-types.js'
import { AGENT_EVENT, COMMAND_EVENT, KEEP_ERROR_REASON, type CommandDialect, type Release } from './command-dal.js'
import type { Outbox } from './outbox.js'
import { toAgent, toCommand } from './rows.js'
import type { Row, Sql, Tx } from './sql.js'
import type { AgentStatus } from './types.js'

export class SqliteCommandSql implements CommandDialect {
  constructor(
    private readonly sql: Sql,
    private readonly outbox: Outbox
  ) {}

  async claim(owner: string, limit: number, leaseMs: number): Promise<Claimed[]> {
    const now = this.sql.now
    return this.sql.transaction(async (tx) => {
      const rows = await this.sql.rows(
        `UPDATE orchestrator_commands SET status = 'running', started_at = ${now}, lease_owner = $1, lease_until = ${now} + $2,
           deadline_at = ${now} + timeout_ms, attempts = attempts + 1
         WHERE seq IN (
           SELECT MIN(q.seq) FROM orchestrator_commands q JOIN orchestrator_agents a ON a.id = q.agent_id
           WHERE q.status = 'queued' AND a.running_command_id IS NULL GROUP BY q.agent_id LIMIT $3
         ) RETURNING *`,
        [owner, leaseMs, limit],
        tx
      )
      const claimed: Claimed[] = []
      for (const row of rows) {
        const agent = (await this.sql.one(
          `UPDATE orchestrator_agents AS a SET running_command_id = $1, status = 'busy', status_reason = ${KEEP_ERROR_REASON}, last_seen_at = $2 WHERE id = $3 RETURNING *`,
          [row.id, row.started_at, row.agent_id],
          tx
        ))!
        const outbox = await this.outbox.add(tx, [{ ...COMMAND_EVENT, ref: row.id as string, data: row }, { ...AGENT_EVENT, ref: agent.id as string, data: agent }])
        claimed.push({ row, command: toCommand(row), agent: toAgent(agent), outbox })
      }
      return claimed
    })
  }

  async settle(finish: string, bind: unknown[], release: Release): Promise<Settled | null> {
    const done = await this.sql.transaction(async (tx) => {
      const row = await this.sql.one(finish, bind, tx)
      if (!row) return null
      const { agent, wasError } = await this.release(tx, row, release.status, release.reason)
      const outbox = await this.outbox.add(tx, [
        { ...COMMAND_EVENT, ref: row.id as string, data: row },
        ...(agent ? [{ ...AGENT_EVENT, ref: agent.id as string, data: agent }] : [])
      ])
      return { row, agent, wasError, outbox }
    })
    return done ? { command: toCommand(done.row), agent: done.agent ? toAgent(done.agent) : null, wasError: done.wasError, outbox: done.outbox } : null
  }

  private async release(tx: Tx, row: Row, status: AgentStatus, reason: string | null): Promise<{ agent: Row | null; wasError: boolean }> {
    const prev = await this.sql.one<{ status: string; status_reason: string | null }>(
      `SELECT status, status_reason FROM orchestrator_agents WHERE id = $1 AND running_command_id = $2`,
      [row.agent_id, row.id],
      tx
    )
    if (!prev) return { agent: null, wasError: false }
    // A busy agent that keeps a reason came from error (see KEEP_ERROR_REASON); a cancel does not clear it.
    const wasError = prev.status === 'error' || prev.status_reason !== null
    const next = status === 'idle' && wasError && row.status === 'cancelled' ? 'error' : status
    const agent = await this.sql.one(
      `UPDATE orchestrator_agents SET running_command_id = NULL, status = $3, status_reason = $4, last_seen_at = $5
       WHERE id = $1 AND running_command_id = $2 RETURNING *`,
      [row.agent_id, row.id, next, next === 'error' ? (reason ?? prev.status_reason) : null, row.finished_at],
      tx
    )
    return { agent, wasError }
  }
}
