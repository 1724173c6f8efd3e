// Chooses the bus: Redis when there is a Redis (REDIS_URL), the in-process bus otherwise.
import type { Logger } from 'pino'
import type { Config } from '../../config/index.js'
import type { Registry } from 'prom-client'
import { createBusMetrics } from '../metrics/bus-metrics.js'
import type { RedisFactory } from '../redis.js'
import type { Tracing } from '../trace.js'
import { MemoryBus } from './memory-bus.js'
import { RedisBus } from './redis-bus.js'
import type { Bus } from './types.js'

export * from './types.js'
export { BusRefusal, type RefusalCode } from './refusal.js'
export { clientSource, isClientSource, RESERVED_TYPE_PREFIXES } from './client-policy.js'
export { MemoryBus, RedisBus }

/** With tracing on, each envelope carries the publishing span's traceparent (DESIGN section 6). */
export function createBus(config: Config, log: Logger, redis: RedisFactory | null, registry?: Registry, trace?: Tracing): Bus {
  const metrics = registry && createBusMetrics(registry, redis ? 'redis' : 'memory')
  const options = { historyLen: config.historyLen, historyTtlMs: config.historyTtlSeconds * 1000, source: config.roles.join(','), log, metrics, trace }
  if (!redis) return new MemoryBus(options)
  // Boot does not wait for Redis: /health/ready stays 503 until it connects.
  return new RedisBus({ ...options, redis, prefix: config.redisPrefix })
}
