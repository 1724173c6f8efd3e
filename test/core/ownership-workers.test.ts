// Workers follow ownership: across 20 rapid flips between the monolith and the dedicated service,
// every job of the echo test plugin's queue runs exactly once, and never two processes run the worker at once.
import { Redis } from 'ioredis'
import t from 'tap'
import { DONE_KEY, JOBS_KEY, RUNNING_KEY } from '../fixtures/echo-plugin.js'
import { build, tokenFor } from '../helpers/build.js'
import { freePort } from '../helpers/net.js'
import { startHelix } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const minter = await build(t)
const admin = { authorization: `Bearer ${tokenFor(minter, ['admin'])}`, 'content-type': 'application/json' }

t.test('every job runs once across 20 rapid flips, and one process runs the worker', async (t) => {
  const prefix = redisPrefix(t)
  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.disconnect())
  const [monoPort, voicePort] = [await freePort(), await freePort()]
  const shared = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix }
  const [mono, voice] = await Promise.all([
    startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(monoPort), HELIX_ROLE: 'all', HELIX_SERVICE_URLS: `voice=http://127.0.0.1:${voicePort}` } }),
    startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(voicePort), HELIX_ROLE: 'voice' } })
  ])
  const pid = { mono: String(mono.child.pid), voice: String(voice.child.pid) }
  let next = 1
  const push = (n: number) => redis.rpush(prefix + JOBS_KEY, ...Array.from({ length: n }, () => String(next++)))
  const done = () => redis.llen(prefix + DONE_KEY)
  const runners = () => redis.smembers(prefix + RUNNING_KEY)

  await push(100)
  await waitFor(async () => (await done()) === 100, 'the first 100 jobs')
  t.same(await runners(), [pid.mono], 'before: the monolith runs the worker')

  // Sample who runs the worker all through the flips.
  let most = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      most = Math.max(most, (await runners()).length)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  })()
  const flip = (enabled: boolean) => fetch(`${mono.url}/admin/flags/helix.voice.dedicated`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled }) })
  for (let i = 0; i < 20; i++) {
    t.equal((await flip(i % 2 === 0)).status, 200)
    await push(10)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // Flips 50 ms apart may all pass before the lease changes hands on a loaded machine: one flip held
  // until the dedicated service has run jobs shows the handover works both ways.
  t.equal((await flip(true)).status, 200)
  await push(20)
  await waitFor(async () => (await redis.lrange(prefix + DONE_KEY, 0, -1)).some((e) => e.endsWith(`:${pid.voice}`)), 'the dedicated service to run jobs', 30_000)
  t.equal((await flip(false)).status, 200)
  sampling = false
  await sampler
  t.equal(most, 1, 'during the flips no two processes ran the worker at once')
  await waitFor(async () => (await runners()).join() === pid.mono, 'the monolith alone to run the worker after the flips')

  await push(100)
  const total = next - 1
  await waitFor(async () => (await done()) === total, `all ${total} jobs`, 60_000)
  const executions = await redis.lrange(prefix + DONE_KEY, 0, -1)
  const ids = executions.map((e) => Number(e.split(':')[0]))
  t.equal(new Set(ids).size, ids.length, 'no job ran twice')
  t.same([...ids].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'no job was lost')
  const byVoice = executions.filter((e) => e.endsWith(`:${pid.voice}`)).length
  t.ok(byVoice > 0, `the dedicated service ran ${byVoice} jobs while it owned the plugin`)
  t.equal(await redis.llen(prefix + JOBS_KEY), 0)
  t.same(await runners(), [pid.mono], 'after: the monolith alone runs the worker')
})
