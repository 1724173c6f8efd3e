// Revoked token ids (DESIGN section 7). A revocation is `<prefix>revoked:<jti>` in Redis until the
// token's expiry, indexed in the sorted set `<prefix>revocations` and announced on the pub/sub
// channel of that name; every replica keeps the list in memory, so checking a token is a map lookup
// that needs no I/O and still works while Redis is down. Without Redis: this process only.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Clock, Timer } from '../clock.js'
import type { RedisFactory } from '../redis.js'

export interface RevocationList {
  /** True when `jti` is revoked and its token has not expired yet. No I/O. */
  has(jti: string): boolean
  /** Revokes `jti` on every replica until `expiresAtMs` (the token's `exp`). */
  revoke(jti: string, expiresAtMs: number): Promise<void>
  /** Loads the revocations made so far (never throws: a failed load is retried) and follows new ones. */
  start(): Promise<void>
  close(): Promise<void>
}

/** A full reload now and then repairs an announcement missed while a connection was down. */
const RELOAD_MS = 30_000
/** How long boot waits for the subscription before going on without it. */
const SUBSCRIBE_WAIT_MS = 1000

const delay = <T>(clock: Clock, ms: number, value: T) => new Promise<T>((resolve) => clock.setTimeout(() => resolve(value), ms))

export function createRevocationList(deps: { redis: RedisFactory | null; prefix: string; log: Logger; clock: Clock }): RevocationList {
  const { prefix, log, clock } = deps
  const revoked = new Map<string, number>()
  const index = `${prefix}revocations`
  let commands: Redis | null = null
  let subscriber: Redis | null = null
  let reloadTimer: Timer | undefined

  function remember(jti: string, expiresAtMs: number): void {
    if (expiresAtMs > clock.now()) revoked.set(jti, Math.max(expiresAtMs, revoked.get(jti) ?? 0))
  }

  function forgetExpired(): void {
    const now = clock.now()
    for (const [jti, expiresAt] of revoked) if (expiresAt <= now) revoked.delete(jti)
  }

  async function reload(): Promise<void> {
    if (!commands) return
    try {
      const now = clock.now()
      const entries = await commands.zrangebyscore(index, now + 1, '+inf', 'WITHSCORES')
      for (let i = 0; i < entries.length; i += 2) remember(entries[i]!, Number(entries[i + 1]))
      forgetExpired()
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'loading revoked tokens failed; retrying shortly')
    }
  }

  return {
    has(jti) {
      const expiresAt = revoked.get(jti)
      if (expiresAt === undefined) return false
      if (expiresAt > clock.now()) return true
      revoked.delete(jti)
      return false
    },

    async revoke(jti, expiresAtMs) {
      const now = clock.now()
      if (expiresAtMs <= now) return
      if (commands) {
        await commands
          .multi()
          .set(`${prefix}revoked:${jti}`, String(expiresAtMs), 'PX', expiresAtMs - now)
          .zadd(index, expiresAtMs, jti)
          .zremrangebyscore(index, '-inf', now)
          .publish(index, JSON.stringify({ jti, expiresAt: expiresAtMs }))
          .exec()
      }
      remember(jti, expiresAtMs)
    },

    async start() {
      if (!deps.redis) return
      commands = deps.redis('revocations', { maxRetriesPerRequest: 1 })
      subscriber = deps.redis('revocations-sub', { maxRetriesPerRequest: null })
      subscriber.on('message', (_channel: string, message: string) => {
        try {
          const { jti, expiresAt } = JSON.parse(message) as { jti: string; expiresAt: number }
          if (typeof jti === 'string' && typeof expiresAt === 'number') remember(jti, expiresAt)
        } catch {
          log.warn('an unreadable token revocation was announced')
        }
      })
      // Whatever was announced while the subscriber was away is in the index: reload on every reconnect.
      subscriber.on('ready', () => void reload())
      // Boot does not wait on a Redis that is away: the subscription completes when it is back.
      const subscribed = subscriber.subscribe(index).then(() => true, () => false)
      if (!(await Promise.race([subscribed, delay(clock, SUBSCRIBE_WAIT_MS, false)]))) {
        log.warn('not yet following token revocations (Redis unavailable); they load when it is back')
      }
      await reload()
      reloadTimer = clock.setInterval(() => void reload(), RELOAD_MS)
    },

    async close() {
      clock.clearInterval(reloadTimer)
      commands?.disconnect()
      subscriber?.disconnect()
    }
  }
}
