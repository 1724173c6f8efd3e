// The durable command queue: the command row is the queue entry, so state and queue never disagree.
// Claims take, per agent without a running command, its oldest queued command (PostgreSQL: agent
// rows FOR UPDATE SKIP LOCKED, so replicas never pick the same agent); leases hand a crashed
// replica's work back. Every transition is published as `command.updated`.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Bus } from '../../core/bus/types.js'
import { errors } from '../../core/errors.js'
import type { AlertService } from './alert-service.js'
import { toAgent, toCommand, TERMINAL, UUID_RE, type Agent, type AgentStatus, type Command, type CommandStatus, type Row, type Sql, type Tx } from './models.js'

export interface NewCommand {
  command: string
  args: Record<string, unknown>
  timeoutMs: number
  idempotencyKey?: string | null
  parentId?: string | null
}

/** A command a worker has claimed: the row and its agent as they were when claimed. */
export interface Claimed {
  row: Row
  command: Command
  agent: Agent
}

export type Outcome =
  | { status: 'succeeded'; result: unknown }
  | { status: 'failed' | 'timed_out'; error: string }

/** A claimed agent coming out of error keeps its reason while busy, so its success can resolve the alert. */
const KEEP_ERROR_REASON = "CASE WHEN a.status = 'error' THEN COALESCE(a.status_reason, 'error') ELSE NULL END"

/** Commands written per INSERT, INSERTs in flight, and commands allowed to wait for one. */
const BATCH = 256
const FLUSHES = 4
const MAX_PENDING = 10_000

interface PendingCommand {
  id: string
  agentId: string
  input: NewCommand
  resolve(row: Row | null): void
  reject(err: unknown): void
}

export class CommandQueue {
  private readonly pending: PendingCommand[] = []
  /** INSERTs in flight, and which one carries each of their commands. */
  private readonly inserting = new Set<Promise<void>>()
  private readonly insertOf = new Map<string, Promise<void>>()

  constructor(
    private readonly sql: Sql,
    private readonly bus: Bus,
    private readonly alerts: AlertService,
    private readonly log?: Logger
  ) {}

  /**
   * Stores a queued command (accepted means stored); an Idempotency-Key already used returns that
   * first command. Concurrent requests are written together, one multi-row INSERT per batch, so one
   * durable commit (one WAL flush) accepts many commands.
   */
  async enqueue(agentId: string, input: NewCommand): Promise<{ command: Command; replayed: boolean }> {
    if (this.pending.length >= MAX_PENDING) throw errors.unavailable('Too many commands are waiting to be stored; retry')
    const row = await new Promise<Row | null>((resolve, reject) => {
      this.pending.push({ id: randomUUID(), agentId, input, resolve, reject })
      this.flush()
    })
    if (!row) {
      // Not stored: its Idempotency-Key was used before, or its agent was deleted meanwhile.
      const first = input.idempotencyKey
        ? await this.sql.one('SELECT * FROM orchestrator_commands WHERE idempotency_key = $1', [input.idempotencyKey])
        : null
      if (first) return { command: toCommand(first), replayed: true }
      const agent = await this.sql.one('SELECT id FROM orchestrator_agents WHERE id = $1', [agentId])
      if (!agent) throw errors.notFound(`Agent "${agentId}"`)
      throw errors.conflict('The Idempotency-Key is in use by a command being created; retry')
    }
    const command = toCommand(row)
    // Stored is accepted: the reply does not wait for the announcement (it goes out in this tick's
    // bus batch). Should it fail, the workers' backstop poll still finds the command.
    this.bus.publish('commands', 'command.updated', command).catch((err: unknown) => {
      this.log?.warn({ err, commandId: command.id }, 'could not announce a new command; the poll will pick it up')
    })
    return { command, replayed: false }
  }

  /** Writes the waiting commands, at most FLUSHES batches at once; the rest wait for the next turn. */
  private flush(): void {
    while (this.inserting.size < FLUSHES && this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH)
      const run = this.insert(batch)
      this.inserting.add(run)
      for (const p of batch) this.insertOf.set(p.id, run)
      void run.finally(() => {
        this.inserting.delete(run)
        for (const p of batch) this.insertOf.delete(p.id)
        this.flush()
      })
    }
  }

  /**
   * Waits until these commands have been announced as queued, if this process is still inserting
   * them: another connection can claim a row the moment it commits, before its INSERT has returned
   * here, and `queued` must reach the bus ahead of `running`.
   */
  private async announced(commands: readonly Command[]): Promise<void> {
    const inserts = new Set(commands.map((c) => this.insertOf.get(c.id)).filter((run) => run !== undefined))
    if (inserts.size > 0) await Promise.all(inserts)
  }

  /**
   * One INSERT for the batch. It stores only commands whose agent still exists, and its key-share
   * lock on those agents makes a concurrent delete wait (and then cancel them), so no command is
   * ever left queued for an agent that is gone.
   */
  private async insert(batch: PendingCommand[]): Promise<void> {
    const bind: unknown[] = []
    const values = batch.map(({ id, agentId, input }) => {
      bind.push(id, agentId, input.command, this.sql.json(input.args), input.idempotencyKey ?? null, input.parentId ?? null, input.timeoutMs)
      const n = bind.length - 7
      // The last column keeps the batch's arrival order in the sequence numbers.
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, ${n / 7})`
    })
    // PostgreSQL names the VALUES columns and types them; SQLite calls them column1..column8.
    const pgsql = this.sql.postgres
    const v = pgsql
      ? { id: 'v.id::uuid', agent: 'v.agent_id::uuid', command: 'v.command', args: 'v.args::jsonb', key: 'v.idempotency_key', parent: 'v.parent_id::uuid', timeout: 'v.timeout_ms::int', n: 'v.n' }
      : { id: 'v.column1', agent: 'v.column2', command: 'v.column3', args: 'v.column4', key: 'v.column5', parent: 'v.column6', timeout: 'v.column7', n: 'v.column8' }
    try {
      const rows = await this.sql.rows(
        `INSERT INTO orchestrator_commands (id, agent_id, command, args, status, idempotency_key, parent_id, timeout_ms, attempts, created_at)
         SELECT ${v.id}, a.id, ${v.command}, ${v.args}, 'queued', ${v.key}, ${v.parent}, ${v.timeout}, 0, ${this.sql.now}
         FROM (VALUES ${values.join(', ')}) AS v${pgsql ? '(id, agent_id, command, args, idempotency_key, parent_id, timeout_ms, n)' : ''}
         JOIN orchestrator_agents a ON a.id = ${v.agent}
         WHERE true ORDER BY ${v.n} ${pgsql ? 'FOR KEY SHARE OF a' : ''}
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
        bind,
        undefined,
        // Small batches are the common ones; larger ones are rare and share their parse among many rows.
        { prepared: batch.length <= 8 ? `orchestrator-enqueue-${batch.length}` : undefined }
      )
      const byId = new Map(rows.map((r) => [r.id as string, r]))
      for (const p of batch) p.resolve(byId.get(p.id) ?? null)
    } catch (err) {
      for (const p of batch) p.reject(err)
    }
  }

  async get(id: string): Promise<Command> {
    const row = UUID_RE.test(id) ? await this.sql.one('SELECT * FROM orchestrator_commands WHERE id = $1', [id.toLowerCase()]) : null
    if (!row) throw errors.notFound(`Command "${id}"`)
    return toCommand(row)
  }

  /** An agent's commands, newest first. */
  async listForAgent(agentId: string, query: { status?: CommandStatus; cursor?: string; limit: number }): Promise<{ items: Command[]; nextCursor: string | null }> {
    const bind: unknown[] = [agentId]
    let where = 'agent_id = $1'
    if (query.status) {
      bind.push(query.status)
      where += ` AND status = $${bind.length}`
    }
    if (query.cursor) {
      const seq = Number(query.cursor)
      if (!Number.isSafeInteger(seq)) throw errors.badRequest('The cursor is not valid')
      bind.push(seq)
      where += ` AND seq < $${bind.length}`
    }
    bind.push(query.limit + 1)
    const rows = await this.sql.rows(`SELECT * FROM orchestrator_commands WHERE ${where} ORDER BY seq DESC LIMIT $${bind.length}`, bind)
    const more = rows.length > query.limit
    const page = rows.slice(0, query.limit)
    return { items: page.map(toCommand), nextCursor: more ? String(page.at(-1)!.seq) : null }
  }

  /** Cancels a queued or running command; a finished one is a 409. The executor is told through the event. */
  async cancel(id: string): Promise<Command> {
    const current = await this.get(id)
    if (TERMINAL.has(current.status)) throw errors.conflict(`Command ${id} already ${current.status}`, { status: current.status })
    const settled = await this.settle(current.id, ['queued', 'running'], 'cancelled', { error: 'cancelled' }, null, false)
    if (!settled) return this.cancel(id)
    return settled.command
  }

  /** Claims up to `limit` commands for `owner`, at most one per agent, each agent's oldest first. */
  async claim(owner: string, limit: number, leaseMs: number): Promise<Claimed[]> {
    const claimed = this.sql.postgres ? await this.claimPostgres(owner, limit, leaseMs) : await this.claimSqlite(owner, limit, leaseMs)
    await this.announced(claimed.map((c) => c.command))
    // Published in one tick, so the bus writes them in one batch, in this order.
    await Promise.all(claimed.flatMap((c) => [
      this.bus.publish('commands', 'command.updated', c.command),
      this.bus.publish('agents', 'agent.updated', c.agent)
    ]))
    return claimed
  }

  private async claimPostgres(owner: string, limit: number, leaseMs: number): Promise<Claimed[]> {
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
       )
       SELECT cmd.*, row_to_json(ag) AS agent FROM cmd JOIN ag ON ag.id = cmd.agent_id`,
      [limit, owner, leaseMs],
      undefined,
      // Unnamed, so planned for the call: claims are rare (an agent with a backlog is handed its
      // next command by finish), and the plan depends on which agents have work.
      { relaxed: true }
    )
    return rows.map((row) => ({ row, command: toCommand(row), agent: toAgent(row.agent as Row) }))
  }

  private async claimSqlite(owner: string, limit: number, leaseMs: number): Promise<Claimed[]> {
    const now = this.sql.now
    // The embedded default is one process with one connection: the transaction is the lock.
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
        const agent = await this.sql.one(
          `UPDATE orchestrator_agents AS a SET running_command_id = $1, status = 'busy', status_reason = ${KEEP_ERROR_REASON}, last_seen_at = $2 WHERE id = $3 RETURNING *`,
          [row.id, row.started_at, row.agent_id],
          tx
        )
        claimed.push({ row, command: toCommand(row), agent: toAgent(agent!) })
      }
      return claimed
    })
  }

  /**
   * Records the outcome of a claimed command, if this owner still holds it, and frees its agent.
   * With `next` (PostgreSQL, after a success) the same statement hands the agent straight to its
   * oldest queued command, claimed for `owner`: one round trip per command instead of two, and the
   * agent stays busy while it has work. Returns the next claimed command, if any.
   */
  async finish(owner: string, id: string, outcome: Outcome, next?: { leaseMs: number }): Promise<Claimed | null> {
    if (next && outcome.status === 'succeeded' && this.sql.postgres) return this.finishAndClaimNext(owner, id, outcome.result, next.leaseMs)
    const fields = outcome.status === 'succeeded' ? { result: outcome.result } : { error: outcome.error }
    await this.settle(id, ['running'], outcome.status, fields, owner, true)
    return null
  }

  private async finishAndClaimNext(owner: string, id: string, result: unknown, leaseMs: number): Promise<Claimed | null> {
    const now = this.sql.now
    // `started` reads `c`, so the finished command leaves 'running' before the next one enters it
    // (the one-running-per-agent index). The agent row is updated last, from what really happened:
    // a next command cancelled meanwhile leaves it idle.
    //
    // This statement runs for nearly every command, so it runs on one cached plan, which has to be
    // right for any agent and any table. Three things pin that plan:
    // - `c` names its status through a parameter, so only the id index can find the row (the
    //   status indexes, partial ones included, cannot prove they hold it);
    // - the queue head is looked up as a range on agent_id ordered by (agent_id, seq), an order only
    //   the per-agent indexes give: the primary key would walk the whole history in seq order;
    // - the next command is updated by its ctid, found by that lookup.
    const row = await this.sql.one(
      `WITH c AS (
         UPDATE orchestrator_commands AS c SET status = 'succeeded', result = $2, error = NULL, finished_at = ${now}, lease_until = NULL
         WHERE c.id = $1 AND c.status = ANY($5::varchar[]) AND c.lease_owner = $3 RETURNING c.*
       ), prev AS (
         SELECT a.id, (a.status = 'error' OR a.status_reason IS NOT NULL) AS was_error
         FROM orchestrator_agents a JOIN c ON a.id = c.agent_id AND a.running_command_id = c.id
       ), nxt AS (
         SELECT n.tid FROM prev CROSS JOIN LATERAL (
           SELECT q.ctid AS tid FROM orchestrator_commands q
           WHERE q.agent_id >= prev.id AND q.agent_id <= prev.id AND q.status = 'queued'
           ORDER BY q.agent_id, q.seq LIMIT 1
         ) n
       ), started AS (
         UPDATE orchestrator_commands n SET status = 'running', started_at = ${now}, lease_owner = $3, lease_until = ${now} + $4::bigint,
           deadline_at = ${now} + n.timeout_ms, attempts = n.attempts + 1
         FROM nxt, c WHERE n.ctid = nxt.tid AND n.status = 'queued' RETURNING n.*
       ), ag AS (
         UPDATE orchestrator_agents a SET running_command_id = (SELECT id FROM started),
           status = CASE WHEN EXISTS (SELECT 1 FROM started) THEN 'busy' ELSE 'idle' END,
           status_reason = NULL, last_seen_at = c.finished_at
         FROM c, prev WHERE a.id = prev.id AND a.running_command_id = c.id RETURNING a.*
       )
       SELECT c.*, row_to_json(ag) AS agent, COALESCE(prev.was_error, false) AS was_error, row_to_json(started) AS next
       FROM c LEFT JOIN ag ON ag.id = c.agent_id LEFT JOIN prev ON prev.id = c.agent_id LEFT JOIN started ON true`,
      [id, this.sql.json(result ?? null), owner, leaseMs, ['running']],
      undefined,
      { prepared: 'orchestrator-finish-next', plan: 'cached' }
    )
    if (!row) return null
    const agent = row.agent ? toAgent(row.agent as Row) : null
    const next = row.next && agent ? { row: row.next as Row, command: toCommand(row.next as Row), agent } : null
    if (next) await this.announced([next.command])
    await this.published(toCommand(row), agent, Boolean(row.was_error), next?.command)
    return next
  }

  /**
   * Moves a command from one of `from` to `to` and frees its agent (idle, or error after a
   * failure), in one transaction; publishes the command, the agent and the agent-error alert.
   * Executor outcomes commit relaxed (a lost one means a re-run); an operator's cancel is durable.
   */
  private async settle(
    id: string,
    from: readonly CommandStatus[],
    to: CommandStatus,
    fields: { result?: unknown; error?: string },
    owner: string | null,
    relaxed: boolean
  ): Promise<{ command: Command; agent: Agent | null } | null> {
    const agentStatus: AgentStatus = to === 'failed' || to === 'timed_out' ? 'error' : 'idle'
    const reason = agentStatus === 'error' ? `${to}: ${fields.error ?? ''}`.slice(0, 500) : null
    const bind: unknown[] = [id, to, fields.result === undefined ? null : this.sql.json(fields.result), fields.error ?? null]
    let guard = `c.status IN (${from.map((s) => `'${s}'`).join(', ')})`
    if (owner) {
      bind.push(owner)
      guard += ` AND c.lease_owner = $${bind.length}`
    }
    const finish = `UPDATE orchestrator_commands AS c SET status = $2, result = $3, error = $4, finished_at = ${this.sql.now}, lease_until = NULL
      WHERE c.id = $1 AND ${guard} RETURNING *`
    let done: { row: Row; agent: Agent | null; wasError: boolean } | null
    if (this.sql.postgres) {
      // One statement: the command's outcome and its agent's release commit together.
      bind.push(agentStatus, reason)
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
         )
         SELECT c.*, row_to_json(ag) AS agent, COALESCE(prev.was_error, false) AS was_error
         FROM c LEFT JOIN ag ON ag.id = c.agent_id LEFT JOIN prev ON prev.id = c.agent_id`,
        bind,
        undefined,
        { relaxed }
      )
      done = row ? { row, agent: row.agent ? toAgent(row.agent as Row) : null, wasError: Boolean(row.was_error) } : null
    } else {
      done = await this.sql.transaction(async (tx) => {
        const row = await this.sql.one(finish, bind, tx)
        return row ? { row, ...(await this.release(tx, row, agentStatus, reason)) } : null
      })
    }
    if (!done) return null
    const command = toCommand(done.row)
    await this.published(command, done.agent, done.wasError)
    return { command, agent: done.agent }
  }

  /**
   * Announces a finished command, its agent (freed, or busy with `next`) and the next command, in
   * one bus batch; raises or resolves the agent-error alert.
   */
  private async published(command: Command, agent: Agent | null, wasError: boolean, next?: Command): Promise<void> {
    const events: Promise<unknown>[] = [this.bus.publish('commands', 'command.updated', command)]
    if (agent) events.push(this.bus.publish('agents', 'agent.updated', agent))
    if (next) events.push(this.bus.publish('commands', 'command.updated', next))
    await Promise.all(events)
    if (!agent) return
    await this.alerts.transition(wasError, agent.status === 'error', {
      key: `agent.error:${agent.id}`,
      kind: 'agent',
      severity: 'high',
      message: `Agent ${agent.name} is in error: ${agent.statusReason ?? ''}`.trim(),
      data: { agentId: agent.id, slug: agent.slug, commandId: command.id }
    })
  }

  private async release(tx: Tx, row: Row, status: AgentStatus, reason: string | null): Promise<{ agent: Agent | null; wasError: boolean }> {
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
    return { agent: agent ? toAgent(agent) : null, wasError }
  }

  /** Extends the leases of the commands `owner` is executing right now (not of ones it lost track of). */
  async renew(owner: string, ids: readonly string[], leaseMs: number): Promise<void> {
    if (ids.length === 0) return
    const marks = ids.map((_, i) => `$${i + 3}`).join(', ')
    await this.sql.run(
      `UPDATE orchestrator_commands SET lease_until = ${this.sql.now} + $2 WHERE lease_owner = $1 AND status = 'running' AND id IN (${marks})`,
      [owner, leaseMs, ...ids]
    )
  }

  /**
   * Hands back the running commands whose lease expired (their replica died): past their deadline
   * they end as `timed_out`, otherwise they are queued again at their original place.
   */
  async reap(): Promise<number> {
    const expired = await this.sql.rows<{ id: string; overdue: boolean | number }>(
      `SELECT id, deadline_at < ${this.sql.now} AS overdue FROM orchestrator_commands WHERE status = 'running' AND lease_until < ${this.sql.now} LIMIT 100`
    )
    for (const { id, overdue } of expired) {
      if (overdue) await this.settle(id, ['running'], 'timed_out', { error: 'deadline passed while its worker was gone' }, null, true)
      else await this.requeue(id)
    }
    return expired.length
  }

  private async requeue(id: string): Promise<void> {
    const done = await this.sql.transaction(async (tx) => {
      const row = await this.sql.one(
        `UPDATE orchestrator_commands SET status = 'queued', lease_owner = NULL, lease_until = NULL, started_at = NULL, deadline_at = NULL
         WHERE id = $1 AND status = 'running' AND lease_until < ${this.sql.now} RETURNING *`,
        [id],
        tx
      )
      if (!row) return null
      const agent = await this.sql.one(
        `UPDATE orchestrator_agents SET running_command_id = NULL, status = 'idle' WHERE id = $1 AND running_command_id = $2 RETURNING *`,
        [row.agent_id, row.id],
        tx
      )
      return { row, agent }
    }, { relaxed: true })
    if (!done) return
    await this.bus.publish('commands', 'command.updated', toCommand(done.row))
    if (done.agent) await this.bus.publish('agents', 'agent.updated', toAgent(done.agent))
  }

  /** Age in ms of the oldest queued command (0 when the queue is empty). */
  async oldestQueuedAge(): Promise<number> {
    const row = await this.sql.one<{ age: string | number | null }>(`SELECT ${this.sql.now} - MIN(created_at) AS age FROM orchestrator_commands WHERE status = 'queued'`)
    return row?.age === null || row?.age === undefined ? 0 : Number(row.age)
  }

  /** Status of a set of commands (EXECUTE_TASK waits on its steps). */
  async statuses(ids: readonly string[]): Promise<Command[]> {
    if (ids.length === 0) return []
    const marks = ids.map((_, i) => `$${i + 1}`).join(', ')
    return (await this.sql.rows(`SELECT * FROM orchestrator_commands WHERE id IN (${marks})`, [...ids])).map(toCommand)
  }
}
