// The Redis work queue's reclaim (XAUTOCLAIM) on the real server: entries a consumer left idle are
// taken over even when more busy entries than one call looks at lie ahead of them.
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { RedisWorkQueue } from '../../plugins/zapier/work-queue.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const IDLE_MS = 1000

t.test('reclaim reaches idle entries behind more busy ones than one XAUTOCLAIM looks at', async (t) => {
  const redis = new Redis(sharedRedisUrl)
  const reader = new Redis(sharedRedisUrl)
  t.teardown(() => {
    redis.disconnect()
    reader.disconnect()
  })
  const prefix = redisPrefix(t)
  const stream = `${prefix}zapier:inbound`
  const queue = new RedisWorkQueue(redis, reader, prefix, pino({ level: 'silent' }))
  await redis.ping()
  for (let n = 0; n < 40; n++) await queue.add(`event-${n}`)
  const taken = await queue.read('gone', 40, 1)
  t.equal(taken.length, 40)

  // All 40 idle past IDLE_MS, then the first 30 busy again (a live consumer's runs): only the last 10 may be taken over.
  await waitFor(async () => ((await redis.xpending(stream, 'zapier', 'IDLE', IDLE_MS, '-', '+', 100)) as unknown[]).length === 40, 'every entry idle', 5000)
  await redis.xclaim(stream, 'zapier', 'live', 0, ...taken.slice(0, 30).map((e) => e.entryId), 'JUSTID')

  // COUNT 1 looks at 10 pending entries per call: from the head every time, it would never get past the busy ones.
  const reclaimed = []
  for (let call = 0; call < 4 && reclaimed.length === 0; call++) reclaimed.push(...(await queue.reclaim('me', IDLE_MS, 1)))
  t.same(reclaimed.map((e) => e.eventId), ['event-30'], 'the first idle entry is taken over within four calls')
})
