// The reliability layer around a remote provider, built from cockatiel's policies: a timeout per
// attempt, bounded retries of transient gRPC failures only, and a circuit breaker whose opening and
// closing the service turns into failover and `voice.degraded` / `voice.recovered`.
import {
  circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry, timeout,
  TaskCancelledError, TimeoutStrategy, wrap, BrokenCircuitError, type IPolicy
} from 'cockatiel'

/** gRPC codes worth another attempt: the server or the network, not the request. */
const TRANSIENT = new Map<number, string>([
  [2, 'UNKNOWN'], [4, 'DEADLINE_EXCEEDED'], [8, 'RESOURCE_EXHAUSTED'], [10, 'ABORTED'], [13, 'INTERNAL'], [14, 'UNAVAILABLE']
])

/** The gRPC code name of a failure (`TIMEOUT` for our own deadline), for metrics and logs. */
export function failureCode(err: unknown): string {
  if (err instanceof TaskCancelledError) return 'TIMEOUT'
  if (err instanceof BrokenCircuitError) return 'CIRCUIT_OPEN'
  const code = (err as { code?: unknown }).code
  if (typeof code === 'number') return TRANSIENT.get(code) ?? GRPC_NAMES[code] ?? String(code)
  return 'ERROR'
}

const GRPC_NAMES: Record<number, string> = { 0: 'OK', 1: 'CANCELLED', 3: 'INVALID_ARGUMENT', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED', 9: 'FAILED_PRECONDITION', 11: 'OUT_OF_RANGE', 12: 'UNIMPLEMENTED', 15: 'DATA_LOSS', 16: 'UNAUTHENTICATED' }

/** A failure of the provider (worth a retry, counted by the breaker), not of the request. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TaskCancelledError) return true
  const code = (err as { code?: unknown }).code
  return typeof code === 'number' && TRANSIENT.has(code)
}

/** A failure the request caused (bad voice, bad audio): never retried, never failed over. */
export function isClientError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return typeof code === 'number' && [3, 5, 11].includes(code)
}

export interface ReliabilityOptions {
  ttsTimeoutMs: number
  sttTimeoutMs: number
  /** Attempts after the first. */
  retries: number
  /** Consecutive failures that open the breaker. */
  breakerThreshold: number
  /** How long the breaker stays open before one call may test the provider again. */
  breakerResetMs: number
  /** Called when an attempt ran out of time (the breaker and the retries see it as a failure). */
  onTimeout?: (operation: Operation) => void
}

export type Operation = 'synthesize' | 'transcribe'

export class ProviderGuard {
  readonly breaker
  private readonly policies: Record<Operation, IPolicy>

  constructor(options: ReliabilityOptions) {
    this.breaker = circuitBreaker(handleWhen(isTransient), {
      halfOpenAfter: options.breakerResetMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold)
    })
    // A call the breaker refused is not retried: the service fails over instead.
    const retries = retry(handleWhen((err) => isTransient(err) && !(err instanceof BrokenCircuitError)), {
      maxAttempts: options.retries,
      backoff: new ExponentialBackoff({ initialDelay: 25, maxDelay: 500 })
    })
    const policy = (operation: Operation, ms: number) => {
      const deadline = timeout(ms, TimeoutStrategy.Aggressive)
      deadline.onTimeout(() => options.onTimeout?.(operation))
      return wrap(retries, this.breaker, deadline)
    }
    this.policies = { synthesize: policy('synthesize', options.ttsTimeoutMs), transcribe: policy('transcribe', options.sttTimeoutMs) }
  }

  /** Runs `fn` under the operation's policies; the signal aborts an attempt that timed out. */
  execute<T>(operation: Operation, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.policies[operation].execute(({ signal }) => fn(signal)) as Promise<T>
  }
}
