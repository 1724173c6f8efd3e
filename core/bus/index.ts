// Chooses the bus: Redis when REDIS_URL is set, the in-process bus otherwise.
import type { Logger } from 'pino'
import type { Config } from '../../config/index.js'
import { MemoryBus } from './memory-bus.js'
import { RedisBus } from './redis-bus.js'
import type { Bus } from './types.js'

export * from './types.js'
export { MemoryBus, RedisBus }

export function createBus(config: Config, log: Logger): Bus {
  const source = config.roles.join(',')
  if (!config.redisUrl) return new MemoryBus({ historyLen: config.historyLen, source, log })
  // Boot does not wait for Redis: /health/ready stays 503 until it connects.
  return new RedisBus({ url: config.redisUrl, prefix: config.redisPrefix, historyLen: config.historyLen, source, log })
}
