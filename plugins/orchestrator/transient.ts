// Transient dependency failures (the bus's Redis, the database, a dropped connection): how the
// orchestrator retries them with cockatiel, and what users are told when the retries run out, in our
// words, never a driver's.
import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel'
import { unavailableDependency, type Dependency } from '../../core/dependency-errors.js'

/** True when `err` says a dependency is down (core/dependency-errors.ts), so trying again may work. */
export function isTransient(err: unknown): boolean {
  return unavailableDependency(err) !== null
}

const DEPENDENCY_NAMES: Record<Dependency, string> = { Redis: 'the event bus', database: 'the database', service: 'a service it depends on' }

/** "the event bus was unavailable" for a transient failure; null for any other error. */
export function unavailableMessage(err: unknown): string | null {
  const dependency = unavailableDependency(err)
  return dependency ? `${DEPENDENCY_NAMES[dependency]} was unavailable` : null
}

export interface TransientRetryOptions {
  /** Tries in all, the first included. */
  attempts: number
  initialDelayMs: number
  maxDelayMs: number
}

/** Retries transient failures only, with exponential backoff (jittered); any other error ends it at once. */
export function transientRetry({ attempts, initialDelayMs, maxDelayMs }: TransientRetryOptions): RetryPolicy {
  // cockatiel counts retries, not tries.
  return retry(handleWhen(isTransient), { maxAttempts: attempts - 1, backoff: new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs }) })
}
