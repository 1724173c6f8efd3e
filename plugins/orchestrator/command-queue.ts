// The durable command queue: the command row is the queue entry, so state and queue never disagree.
// Accepting, claiming, finishing and cancelling commands, each transition announced (command-events.ts);
// the SQL is in command-dal.ts, the batching of accepted commands in command-batcher.ts.
import { errors } from '../../core/errors.js'
import { isTerminal } from '../../core/contracts/orchestrator.js'
import { noTracing, type Tracing } from '../../core/trace.js'
import type { CommandBatcher } from './command-batcher.js'
import type { CommandDal } from './command-dal.js'
import type { CommandEvents } from './command-events.js'
import type { Claimed, NewCommand, Outcome, Settled, SettledWithNext, Success } from './command-types.js'
import { IDEMPOTENCY_TTL_MS } from './idempotency.js'
import { SharedRoundTrip } from './round-trips.js'
import { toCommand, UUID_RE } from './rows.js'
import type { Command, CommandQuery } from './types.js'

/** A success to record for `owner`, claiming the agent's next command with a lease of `leaseMs`. */
interface Finish extends Success {
  owner: string
  leaseMs: number
}

export class CommandQueue {
  /** Successes recorded together across agents (see finish). */
  private readonly finishes: SharedRoundTrip<Finish, SettledWithNext | null>

  constructor(
    private readonly dal: CommandDal,
    private readonly batcher: CommandBatcher,
    private readonly events: CommandEvents,
    private readonly trace: Tracing = noTracing
  ) {
    this.finishes = new SharedRoundTrip((batch) => this.finishAll(batch), trace)
  }

  /**
   * Stores a queued command (accepted means stored). An Idempotency-Key used in the last 24 h returns
   * that first command when the request hash matches and is a 422 when it does not; an older key is
   * freed and makes a new command. Concurrent requests are written together (CommandBatcher).
   * While tracing is on, the command keeps the caller's traceparent, so its execution joins that trace.
   */
  async enqueue(agentId: string, input: NewCommand): Promise<{ command: Command; replayed: boolean }> {
    if (this.trace.enabled && input.traceparent === undefined) input = { ...input, traceparent: this.trace.traceparent() ?? null }
    const row = await this.batcher.add(agentId, input)
    if (!row) {
      // Not stored: its Idempotency-Key is taken, or its agent was deleted meanwhile.
      const key = input.idempotencyKey
      const first = key ? await this.dal.byIdempotencyKey(key, IDEMPOTENCY_TTL_MS) : null
      if (key && first?.expired) {
        await this.dal.releaseIdempotencyKey(first.seq, key)
        return this.enqueue(agentId, input)
      }
      if (first) {
        // A key stored without a hash was made by Helix itself (a task's steps), never sent by a client.
        if (first.request_hash !== null && first.request_hash !== (input.requestHash ?? null)) throw errors.idempotencyKeyReused()
        return { command: toCommand(first), replayed: true }
      }
      if (!(await this.dal.agentExists(agentId))) throw errors.notFound(`Agent "${agentId}"`)
      throw errors.conflict('The Idempotency-Key is in use by a command being created; retry')
    }
    const command = toCommand(row)
    this.events.queued(command, [Number(row.outbox_id)])
    return { command, replayed: false }
  }

  async get(id: string): Promise<Command> {
    const command = UUID_RE.test(id) ? await this.dal.get(id.toLowerCase()) : null
    if (!command) throw errors.notFound(`Command "${id}"`)
    return command
  }

  /** An agent's commands, newest first. */
  listForAgent(agentId: string, query: CommandQuery): Promise<{ items: Command[]; nextCursor: string | null }> {
    return this.dal.listForAgent(agentId, query)
  }

  /** Cancels a queued or running command; a finished one is a 409. The executor is told through the event. */
  async cancel(id: string): Promise<Command> {
    const current = await this.get(id)
    if (isTerminal(current.status)) throw errors.conflict(`Command ${id} already ${current.status}`, { status: current.status })
    const settled = await this.settle(current.id, ['queued', 'running'], 'cancelled', { error: 'cancelled' }, null, false)
    if (!settled) return this.cancel(id)
    return settled.command
  }

  /** Claims up to `limit` commands for `owner`, at most one per agent, each agent's oldest first. */
  async claim(owner: string, limit: number, leaseMs: number): Promise<Claimed[]> {
    const claimed = await this.dal.claim(owner, limit, leaseMs)
    await this.batcher.announced(claimed.map((c) => c.command))
    this.events.claimed(claimed)
    return claimed
  }

  /**
   * Records the outcome of a claimed command, if this owner still holds it, and frees its agent.
   * With `next` (after a success, where the database offers it) the same statement hands the agent
   * straight to its oldest queued command, claimed for `owner`, so the agent stays busy while it has
   * work; and the successes of every agent finishing at about the same time share that statement.
   * Returns the next claimed command, if any.
   */
  async finish(owner: string, id: string, outcome: Outcome, next?: { leaseMs: number }): Promise<Claimed | null> {
    if (next && outcome.status === 'succeeded' && this.dal.claimsNextOnFinish) return this.finishAndClaimNext(owner, id, outcome.result, next.leaseMs)
    const fields = outcome.status === 'succeeded' ? { result: outcome.result } : { error: outcome.error }
    await this.settle(id, ['running'], outcome.status, fields, owner, true)
    return null
  }

  /** Ends a running command whose worker was lost and whose deadline has passed. */
  async timeOut(id: string): Promise<void> {
    await this.settle(id, ['running'], 'timed_out', { error: 'deadline passed while its worker was gone' }, null, true)
  }

  /** Age in ms of the oldest queued command (0 when the queue is empty). */
  oldestQueuedAge(): Promise<number> {
    return this.dal.oldestQueuedAge()
  }

  /** Status of a set of commands (EXECUTE_TASK waits on its steps). */
  statuses(ids: readonly string[]): Promise<Command[]> {
    return this.dal.statuses(ids)
  }

  private async finishAndClaimNext(owner: string, id: string, result: unknown, leaseMs: number): Promise<Claimed | null> {
    const done = await this.finishes.run({ owner, id, result, leaseMs })
    if (!done) return null
    if (done.next) await this.batcher.announced([done.next.command])
    await this.events.finished(done.command, done.agent, done.wasError, done.outbox, done.next?.command)
    return done.next
  }

  /** One statement per owner and lease for a batch of successes; null for one its owner no longer held. */
  private async finishAll(batch: Finish[]): Promise<(SettledWithNext | null)[]> {
    const settled = new Map<string, SettledWithNext>()
    const groups = new Map<string, Finish[]>()
    for (const f of batch) {
      const key = `${f.leaseMs}:${f.owner}`
      groups.set(key, [...(groups.get(key) ?? []), f])
    }
    await Promise.all([...groups.values()].map(async (group) => {
      const { owner, leaseMs } = group[0]!
      for (const done of await this.dal.finishAndClaimNext(owner, group, leaseMs)) settled.set(done.command.id, done)
    }))
    return batch.map((f) => settled.get(f.id) ?? null)
  }

  /** Moves a command to a final state (CommandDal.settle) and announces it. */
  private async settle(...move: Parameters<CommandDal['settle']>): Promise<Settled | null> {
    const done = await this.dal.settle(...move)
    if (!done) return null
    await this.events.finished(done.command, done.agent, done.wasError, done.outbox)
    return done
  }
}
