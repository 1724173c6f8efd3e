// The command queue's own shapes: what a request asks to store, what a worker claims, how a run ends
// and what its end leaves behind.
import type { Row } from './sql.js'
import type { Agent, Command } from './types.js'

export interface NewCommand {
  command: string
  args: Record<string, unknown>
  timeoutMs: number
  /** Stored as given: callers scope it first (idempotency.ts), or make it up themselves (a task's steps). */
  idempotencyKey?: string | null
  /** Hash of the canonical request the key was sent with; a replay with another one is refused. */
  requestHash?: string | null
  parentId?: string | null
  /** Who asked: the caller's subject (`request.principal.actor`). */
  requestedBy?: string | null
  /** The W3C traceparent active when it was accepted (CommandQueue sets it while tracing is on). */
  traceparent?: string | null
}

/**
 * A command a worker has claimed: the row and its agent as they were when claimed, and the outbox
 * rows of the claim's events (outbox.ts).
 */
export interface Claimed {
  row: Row
  command: Command
  agent: Agent
  outbox: readonly number[]
}

export type Outcome =
  | { status: 'succeeded'; result: unknown }
  | { status: 'failed' | 'timed_out'; error: string }

/**
 * A command moved to a final state, with its agent as that left it (null: the agent was no longer
 * running it) and whether the agent was in error before, for the agent-error alert.
 */
export interface Settled {
  command: Command
  agent: Agent | null
  wasError: boolean
  /** The outbox rows of its events (and of `next`'s, for SettledWithNext). */
  outbox: readonly number[]
}

/** A command that succeeded, on its way to being recorded. */
export interface Success {
  id: string
  result: unknown
}

/** A success recorded together with the claim of the agent's next command, if it had one. */
export interface SettledWithNext extends Settled {
  next: Claimed | null
}
