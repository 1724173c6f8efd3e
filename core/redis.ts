// The one place Redis connections are made: every connection of the kernel and the plugins shares
// these reconnect and retry settings, is named in CLIENT LIST, and logs an outage once, not per retry.
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'

/** Makes a named connection; `options` may tighten the defaults (a lease fails fast: one retry). */
export type RedisFactory = (name: string, options?: RedisOptions) => Redis

/** Reconnect after 50 ms, doubling up to 2 s, forever: Redis coming back is always picked up. */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000)
}

export function createRedisFactory(url: string, log: Logger): RedisFactory {
  return (name, options = {}) => {
    const redis = new Redis(url, {
      connectionName: `helix-${name}`,
      maxRetriesPerRequest: 2,
      retryStrategy: reconnectDelay,
      ...options
    })
    let down = false
    redis.on('error', (err: Error) => {
      if (down) return
      down = true
      log.warn({ err: err.message, connection: name }, 'redis connection error; reconnecting')
    })
    redis.on('ready', () => {
      if (down) log.info({ connection: name }, 'redis connection back')
      down = false
    })
    return redis
  }
}
