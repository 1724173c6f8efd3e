// Idempotency-Key scoping (DESIGN section 7): a key belongs to its caller and its route, so one
// caller's key never finds another's command. It is stored as a hash of the three, in the column the
// previous release also uses, so its unique index scopes keys for both. A hash of the canonical
// request body tells a replay (the same body: the first command again) from a reuse (another body: 422).
import { createHash } from 'node:crypto'

/** How long a key holds: after this, the same key makes a new command. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * The stored form of `key` sent by `actor` (the principal's actor: the on-behalf-of subject of a call
 * between plugins, else the token's `sub`) to `route` (method and path, the agent named by its id).
 * Its prefix keeps it apart from the raw keys earlier releases stored and from internal keys.
 */
export function scopedIdempotencyKey(actor: string, route: string, key: string): string {
  return `scoped:${sha256(JSON.stringify([actor, route, key]))}`
}

/** A hash of `body` as canonical JSON (object keys sorted), so the order of its keys does not matter. */
export function requestHash(body: unknown): string {
  return sha256(JSON.stringify(body, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value))
}
