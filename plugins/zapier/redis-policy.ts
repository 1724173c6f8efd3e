// The work queue lives in Redis: an eviction policy other than `noeviction` may drop stream entries
// under memory pressure. The rows would still be swept back, but the operator must know.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'

export async function checkEvictionPolicy(redis: Redis, log: Logger): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve()
      redis.once('ready', resolve)
      setTimeout(() => reject(new Error('Redis not ready within 5 s')), 5000).unref()
    })
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[]
    const policy = reply[1]
    if (policy !== 'noeviction') {
      log.error({ maxmemoryPolicy: policy }, `REDIS maxmemory-policy IS "${policy}", NOT "noeviction": Redis may evict the Zapier work queue under memory pressure (events are swept back from the database, late). Set maxmemory-policy noeviction.`)
    }
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not read Redis maxmemory-policy (CONFIG GET); make sure it is noeviction for the Zapier work queue')
  }
}
