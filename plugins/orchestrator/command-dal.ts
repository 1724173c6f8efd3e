// The command queue's SQL. The statements that read the same on PostgreSQL and SQLite are here; the
// ones each database does its own way (claims, settling) come from its CommandDialect
// (command-sql-postgres.ts, command-sql-sqlite.ts). Times come from the database's clock (Sql.now).
import { errors } from '../../core/errors.js'
import type { Claimed, NewCommand, Settled, SettledWithNext, Success } from './command-types.js'
import type { Outbox } from './outbox.js'
import { toAgent, toCommand } from './rows.js'
import type { Row, Sql } from './sql.js'
import type { Agent, AgentStatus, Command, CommandQuery, CommandStatus } from './types.js'

/** A claimed agent coming out of error keeps its reason while busy, so its success can resolve the alert. */
export const KEEP_ERROR_REASON = "CASE WHEN a.status = 'error' THEN COALESCE(a.status_reason, 'error') ELSE NULL END"

/** A command on its way into the table, with the id it will have and its args already serialised. */
export interface CommandInsert {
  id: string
  agentId: string
  input: NewCommand
  argsJson: string
}

/** How a settled command leaves its agent: idle, or in error with a reason. */
export interface Release {
  status: AgentStatus
  reason: string | null
}

/** The statements each database writes its own way, behind one interface. */
export interface CommandDialect {
  /** Claims up to `limit` commands for `owner`, at most one per agent, each agent's oldest first. */
  claim(owner: string, limit: number, leaseMs: number): Promise<Claimed[]>
  /**
   * Runs `finish` (an UPDATE of the command to its final state, RETURNING it; `bind` are its
   * parameters) and releases the agent that was running it, in one commit with their events' outbox rows.
   */
  settle(finish: string, bind: unknown[], release: Release, relaxed: boolean): Promise<Settled | null>
  /**
   * Records successes of commands `owner` holds and claims each of their agents' next queued command
   * for `owner`, all in one round trip; returns those it recorded (one it no longer held is absent).
   * Absent where a database does not offer it: the worker then claims again.
   */
  finishAndClaimNext?(owner: string, done: readonly Success[], leaseMs: number): Promise<SettledWithNext[]>
}

/** Every transition is announced as `command.updated`, and the agent it changes as `agent.updated`. */
export const COMMAND_EVENT = { channel: 'commands', type: 'command.updated' } as const
export const AGENT_EVENT = { channel: 'agents', type: 'agent.updated' } as const

export class CommandDal {
  constructor(
    private readonly sql: Sql,
    private readonly dialect: CommandDialect,
    private readonly outbox: Outbox
  ) {}

  /** True when a success can hand its agent straight to the next command (see CommandDialect). */
  get claimsNextOnFinish(): boolean {
    return this.dialect.finishAndClaimNext !== undefined
  }

  /**
   * One INSERT for the batch. It stores only commands whose agent still exists, and its key-share
   * lock on those agents makes a concurrent delete wait (and then cancel them), so no command is
   * ever left queued for an agent that is gone. Commands whose Idempotency-Key is taken are not
   * stored: the rows returned are the ones that were, each with the `outbox_id` of its `queued` event.
   */
  async insert(batch: readonly CommandInsert[]): Promise<Row[]> {
    const bind: unknown[] = []
    const values = batch.map(({ id, agentId, input, argsJson }) => {
      bind.push(id, agentId, input.command, argsJson, input.idempotencyKey ?? null, input.requestHash ?? null, input.parentId ?? null, input.timeoutMs, input.requestedBy ?? null, input.traceparent ?? null)
      const n = bind.length - 10
      // The last column keeps the batch's arrival order in the sequence numbers.
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8}, $${n + 9}, $${n + 10}, ${n / 10})`
    })
    // PostgreSQL names the VALUES columns and types them; SQLite calls them column1..column11.
    const pgsql = this.sql.postgres
    const v = pgsql
      ? { id: 'v.id::uuid', agent: 'v.agent_id::uuid', command: 'v.command', args: 'v.args::jsonb', key: 'v.idempotency_key', hash: 'v.request_hash', parent: 'v.parent_id::uuid', timeout: 'v.timeout_ms::int', by: 'v.requested_by', trace: 'v.traceparent', n: 'v.n' }
      : { id: 'v.column1', agent: 'v.column2', command: 'v.column3', args: 'v.column4', key: 'v.column5', hash: 'v.column6', parent: 'v.column7', timeout: 'v.column8', by: 'v.column9', trace: 'v.column10', n: 'v.column11' }
    return this.outbox.rowsWithEvents(
      `INSERT INTO orchestrator_commands (id, agent_id, command, args, status, idempotency_key, request_hash, parent_id, timeout_ms, requested_by, traceparent, attempts, created_at)
         SELECT ${v.id}, a.id, ${v.command}, ${v.args}, 'queued', ${v.key}, ${v.hash}, ${v.parent}, ${v.timeout}, ${v.by}, ${v.trace}, 0, ${this.sql.now}
         FROM (VALUES ${values.join(', ')}) AS v${pgsql ? '(id, agent_id, command, args, idempotency_key, request_hash, parent_id, timeout_ms, requested_by, traceparent, n)' : ''}
         JOIN orchestrator_agents a ON a.id = ${v.agent}
         WHERE true ORDER BY ${v.n} ${pgsql ? 'FOR KEY SHARE OF a' : ''}
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
      bind,
      COMMAND_EVENT,
      // Small batches are the common ones; larger ones are rare and share their parse among many rows.
      { query: { prepared: batch.length <= 8 ? `orchestrator-enqueue-${batch.length}` : undefined } }
    )
  }

  /** The command stored under this (scoped) Idempotency-Key, and whether it is older than `ttlMs`. */
  byIdempotencyKey(key: string, ttlMs: number): Promise<(Row & { expired: boolean | number }) | null> {
    return this.sql.one(`SELECT *, created_at < ${this.sql.now} - $2 AS expired FROM orchestrator_commands WHERE idempotency_key = $1`, [key, ttlMs])
  }

  /** Frees an expired Idempotency-Key from the command that holds it; false if another request did first. */
  async releaseIdempotencyKey(seq: unknown, key: string): Promise<boolean> {
    const freed = await this.sql.rows('UPDATE orchestrator_commands SET idempotency_key = NULL WHERE seq = $1 AND idempotency_key = $2 RETURNING seq', [seq, key])
    return freed.length > 0
  }

  async agentExists(agentId: string): Promise<boolean> {
    return (await this.sql.one('SELECT id FROM orchestrator_agents WHERE id = $1', [agentId])) !== null
  }

  /** The command with this id (a lowercase uuid), if any. */
  async get(id: string): Promise<Command | null> {
    const row = await this.sql.one('SELECT * FROM orchestrator_commands WHERE id = $1', [id])
    return row ? toCommand(row) : null
  }

  /** An agent's commands, newest first. */
  async listForAgent(agentId: string, query: CommandQuery): Promise<{ items: Command[]; nextCursor: string | null }> {
    const bind: unknown[] = [agentId]
    let where = 'agent_id = $1'
    if (query.status) {
      bind.push(query.status)
      where += ` AND status = $${bind.length}`
    }
    if (query.cursor) {
      const seq = Number(query.cursor)
      if (!/^\d{1,15}$/.test(query.cursor) || !Number.isSafeInteger(seq)) throw errors.badRequest('The cursor is not valid')
      bind.push(seq)
      where += ` AND seq < $${bind.length}`
    }
    bind.push(query.limit + 1)
    const rows = await this.sql.rows(`SELECT * FROM orchestrator_commands WHERE ${where} ORDER BY seq DESC LIMIT $${bind.length}`, bind)
    const more = rows.length > query.limit
    const page = rows.slice(0, query.limit)
    return { items: page.map(toCommand), nextCursor: more ? String(page.at(-1)!.seq) : null }
  }

  claim(owner: string, limit: number, leaseMs: number): Promise<Claimed[]> {
    return this.dialect.claim(owner, limit, leaseMs)
  }

  /** See CommandDialect.finishAndClaimNext. */
  finishAndClaimNext(owner: string, done: readonly Success[], leaseMs: number): Promise<SettledWithNext[]> {
    if (!this.dialect.finishAndClaimNext) throw new Error('this database claims the next command separately')
    return this.dialect.finishAndClaimNext(owner, done, leaseMs)
  }

  /**
   * Moves a command from one of `from` to `to` (only while `owner` holds it, if given) and frees its
   * agent (idle, or error after a failure), in one commit. Executor outcomes commit relaxed (a lost
   * one means a re-run); an operator's cancel is durable.
   */
  async settle(
    id: string,
    from: readonly CommandStatus[],
    to: CommandStatus,
    fields: { result?: unknown; error?: string },
    owner: string | null,
    relaxed: boolean
  ): Promise<Settled | null> {
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
    return this.dialect.settle(finish, bind, { status: agentStatus, reason }, relaxed)
  }

  /** Extends the leases of `owner`'s running commands among `ids`. */
  async renew(owner: string, ids: readonly string[], leaseMs: number): Promise<void> {
    if (ids.length === 0) return
    const marks = ids.map((_, i) => `$${i + 3}`).join(', ')
    await this.sql.run(
      `UPDATE orchestrator_commands SET lease_until = ${this.sql.now} + $2 WHERE lease_owner = $1 AND status = 'running' AND id IN (${marks})`,
      [owner, leaseMs, ...ids]
    )
  }

  /** Running commands whose lease expired (at most 100), and whether their deadline has passed too. */
  expired(): Promise<{ id: string; overdue: boolean | number }[]> {
    return this.sql.rows<{ id: string; overdue: boolean | number }>(
      `SELECT id, deadline_at < ${this.sql.now} AS overdue FROM orchestrator_commands WHERE status = 'running' AND lease_until < ${this.sql.now} LIMIT 100`
    )
  }

  /** Queues an expired command again at its original place and frees its agent; null if its lease was renewed meanwhile. */
  async requeue(id: string): Promise<{ command: Command; agent: Agent | null; outbox: number[] } | null> {
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
      const outbox = await this.outbox.add(tx, [
        { ...COMMAND_EVENT, ref: row.id as string, data: row },
        ...(agent ? [{ ...AGENT_EVENT, ref: agent.id as string, data: agent }] : [])
      ])
      return { row, agent, outbox }
    }, { relaxed: true })
    return done ? { command: toCommand(done.row), agent: done.agent ? toAgent(done.agent) : null, outbox: done.outbox } : null
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
