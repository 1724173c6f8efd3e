// When a failed delivery is tried again: a schedule like Svix's (seconds, then minutes, then hours,
// about three days in all) with jitter so a recovering target is not hit by every retry at once, and
// a target's own Retry-After honoured. Also the per-target rate limit of deliveries.

/** Waits after the 1st, 2nd, ... failed attempt; after the last one the delivery has failed. */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 72_000_000]

/** A target that has failed every delivery for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 86_400_000

const MAX_RETRY_AFTER_MS = 86_400_000

/**
 * The wait after failed attempt `attempt` (1-based), or null when none is left. `retryAfterMs` (the
 * target's Retry-After) replaces the schedule's wait; `random` is in [0, 1).
 */
export function nextDelay(attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number | null {
  const base = RETRY_SCHEDULE_MS[attempt - 1]
  if (base === undefined) return null
  if (retryAfterMs !== null) return Math.min(Math.max(retryAfterMs, 1000), MAX_RETRY_AFTER_MS)
  return Math.round(base * (0.8 + 0.4 * random()))
}

/** Retry-After as milliseconds: delta seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const text = Array.isArray(value) ? value[0] : value
  if (!text) return null
  if (/^\d{1,9}$/.test(text.trim())) return Number(text.trim()) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

/** A token bucket per target host: `perSecond` deliveries, bursts of as many. */
export class TargetRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(private readonly perSecond: number) {}

  /** 0 when a delivery to `host` may go now (a token is taken), else the milliseconds until one may. */
  take(host: string, now: number): number {
    const bucket = this.buckets.get(host) ?? { tokens: this.perSecond, at: now }
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
    bucket.at = now
    this.buckets.set(host, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000)
  }
}
