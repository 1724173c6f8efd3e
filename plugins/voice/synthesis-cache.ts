// The synthesis cache: audio keyed by the sha256 of the canonical request, in a memory LRU in front of
// Redis (shared by replicas, kept across restarts, with a TTL), and one upstream call for identical
// requests in flight at the same time.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'

export interface CacheOptions {
  maxBytes: number
  ttlSeconds: number
  redis: Redis | null
  /** Redis key prefix, e.g. `helix:voice:tts:`. */
  keyPrefix: string
  log: Logger
}

export type CacheLayer = 'memory' | 'redis'

/** Keys in a fixed order, so equal requests hash equal whatever order their fields came in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

export const cacheKey = (request: unknown) => createHash('sha256').update(canonical(request)).digest('hex')

export class SynthesisCache {
  private readonly memory: LRUCache<string, Buffer>
  private readonly inFlight = new Map<string, Promise<unknown>>()

  constructor(private readonly options: CacheOptions) {
    this.memory = new LRUCache({ maxSize: options.maxBytes, sizeCalculation: (b) => Math.max(1, b.length), ttl: options.ttlSeconds * 1000 })
  }

  async get(key: string): Promise<{ bytes: Buffer; layer: CacheLayer } | null> {
    const hit = this.memory.get(key)
    if (hit) return { bytes: hit, layer: 'memory' }
    if (!this.options.redis) return null
    try {
      const bytes = await this.options.redis.getBuffer(this.options.keyPrefix + key)
      if (!bytes) return null
      this.memory.set(key, bytes)
      return { bytes, layer: 'redis' }
    } catch (err) {
      // Redis away: a miss, the provider still answers.
      this.options.log.debug({ err: (err as Error).message }, 'voice cache read failed')
      return null
    }
  }

  async set(key: string, bytes: Buffer): Promise<void> {
    this.memory.set(key, bytes)
    await this.options.redis?.set(this.options.keyPrefix + key, bytes, 'EX', this.options.ttlSeconds).catch((err: Error) => {
      this.options.log.debug({ err: err.message }, 'voice cache write failed')
    })
  }

  /** `produce` once for all callers asking for `key` while it runs. */
  singleFlight<T>(key: string, produce: () => Promise<T>): { result: Promise<T>; shared: boolean } {
    const running = this.inFlight.get(key) as Promise<T> | undefined
    if (running) return { result: running, shared: true }
    const result = produce().finally(() => this.inFlight.delete(key))
    this.inFlight.set(key, result)
    return { result, shared: false }
  }
}
