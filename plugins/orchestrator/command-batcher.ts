// Writes concurrently accepted commands together: one multi-row INSERT per batch, so one durable
// commit (one WAL flush) accepts many commands. Knows which INSERT carries each command in flight.
import { randomUUID } from 'node:crypto'
import { errors } from '../../core/errors.js'
import { MAX_JSON_DEPTH } from '../../core/json-depth.js'
import { inBatchTrace, noTracing, type Tracing, type Within } from '../../core/trace.js'
import type { CommandDal, CommandInsert } from './command-dal.js'
import type { NewCommand } from './command-types.js'
import type { Row } from './sql.js'
import type { Command } from './types.js'

/** Commands written per INSERT, INSERTs in flight, and commands allowed to wait for one. */
const BATCH = 256
const FLUSHES = 4
const MAX_PENDING = 10_000

interface PendingCommand extends CommandInsert {
  within: Within
  resolve(row: Row | null): void
  reject(err: unknown): void
}

export class CommandBatcher {
  private readonly pending: PendingCommand[] = []
  /** INSERTs in flight, and which one carries each of their commands. */
  private readonly inserting = new Set<Promise<void>>()
  private readonly insertOf = new Map<string, Promise<void>>()

  constructor(
    private readonly dal: CommandDal,
    private readonly trace: Tracing = noTracing
  ) {}

  /**
   * Stores a queued command with the next batch. Resolves with its row, or null when it was not
   * stored: its Idempotency-Key was used before, or its agent is gone. Args that cannot be stored as
   * JSON fail this command alone (400), here, before they can reach a batch.
   */
  add(agentId: string, input: NewCommand): Promise<Row | null> {
    if (this.pending.length >= MAX_PENDING) throw errors.unavailable('Too many commands are waiting to be stored; retry')
    const argsJson = serialiseArgs(input.args)
    return new Promise<Row | null>((resolve, reject) => {
      this.pending.push({ id: randomUUID(), agentId, input, argsJson, within: this.trace.bind(), resolve, reject })
      this.flush()
    })
  }

  /**
   * Waits until these commands have been announced as queued, if this process is still inserting
   * them: another connection can claim a row the moment it commits, before its INSERT has returned
   * here, and `queued` must reach the bus ahead of `running`.
   */
  async announced(commands: readonly Command[]): Promise<void> {
    const inserts = new Set(commands.map((c) => this.insertOf.get(c.id)).filter((run) => run !== undefined))
    if (inserts.size > 0) await Promise.all(inserts)
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

  /** Never throws: a failed INSERT fails the requests of its batch, and nothing else. */
  private async insert(batch: PendingCommand[]): Promise<void> {
    try {
      const rows = await inBatchTrace(this.trace, batch, () => this.dal.insert(batch))
      const byId = new Map(rows.map((r) => [r.id as string, r]))
      for (const p of batch) p.resolve(byId.get(p.id) ?? null)
    } catch (err) {
      for (const p of batch) p.reject(err)
    }
  }
}

/**
 * The args as stored: JSON nested at most MAX_JSON_DEPTH levels (what the HTTP parser lets in).
 * Callers inside the process (a task's steps) are held to the same bound, and the depth is measured
 * without recursion before serialising, so no value reaching a batch can make serialising it throw.
 */
function serialiseArgs(args: Record<string, unknown>): string {
  if (nestsDeeperThan(args, MAX_JSON_DEPTH)) throw errors.tooDeep(MAX_JSON_DEPTH)
  try {
    return JSON.stringify(args)
  } catch {
    // A BigInt, or a getter that throws: neither can be stored.
    throw errors.validation('The command args cannot be stored as JSON')
  }
}

/** True when `value` nests arrays and objects more than `max` levels deep (a cycle nests forever). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (node === null || typeof node !== 'object') continue
    if (depth > max) return true
    for (const child of Object.values(node)) stack.push([child, depth + 1])
  }
  return false
}
