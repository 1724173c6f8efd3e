// The singleton lease: one holder at a time with growing fencing tokens, renewal, release on
// shutdown, and handover after the holder is SIGKILLed.
import { pino } from 'pino'
import t from 'tap'
import { RedisLease } from '../../core/lease.js'
import { freePort } from '../helpers/net.js'
import { startHelix } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { createRedisFactory } from '../../core/redis.js'

const log = pino({ level: 'silent' })
const redis = createRedisFactory(sharedRedisUrl, log)

t.test('two contenders: one holds, renews past its TTL, and hands over on release', async (t) => {
  const prefix = redisPrefix(t)
  const a = new RedisLease(redis, prefix, { name: 'gateway', ttlMs: 300, log })
  const b = new RedisLease(redis, prefix, { name: 'gateway', ttlMs: 300, log })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const first = await a.acquire()
  const bHeld = b.acquire()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.ok(a.isHeld(), 'the holder kept the lease for three TTLs by renewing it')
  t.notOk(b.isHeld(), 'the contender waits')
  t.equal(a.token, first)
  await a.release()
  const second = await bHeld
  t.ok(b.isHeld())
  t.ok(second > first, `fencing token grew: ${first} -> ${second}`)
  const again = a.acquire()
  await b.release()
  t.ok(await again > second, 'a released lease can compete again')
})

t.test('processes compete; SIGKILL of the holder hands the lease over; SIGTERM releases it', async (t) => {
  const prefix = redisPrefix(t)
  const ttl = 2000
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix, ECHO_LEASE_TTL_MS: String(ttl) }
  const start = async () => startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...env, PORT: String(await freePort()) } })
  const lease = async (url: string) => (await fetch(`${url}/api/voice/lease`)).json() as Promise<{ held: boolean; token: number | null; pid: number }>

  const procs = await Promise.all([start(), start()])
  await waitFor(async () => (await Promise.all(procs.map((p) => lease(p.url)))).some((l) => l.held), 'a holder')
  const states = await Promise.all(procs.map((p) => lease(p.url)))
  t.equal(states.filter((s) => s.held).length, 1, 'exactly one process holds the lease')
  const holder = procs[states.findIndex((s) => s.held)]
  const other = procs[states.findIndex((s) => !s.held)]
  const firstToken = states.find((s) => s.held)!.token!

  const killedAt = Date.now()
  await holder.kill('SIGKILL')
  const taken = await waitFor(async () => {
    const l = await lease(other.url)
    return l.held ? l : null
  }, 'handover after SIGKILL', ttl * 5)
  t.comment(`handover after SIGKILL took ${Date.now() - killedAt} ms (TTL ${ttl} ms)`)
  t.ok(taken.token! > firstToken, 'the new holder has a newer fencing token')

  const third = await start()
  t.notOk((await lease(third.url)).held, 'a newcomer waits while the lease is held')
  await other.kill('SIGTERM')
  const released = await waitFor(async () => {
    const l = await lease(third.url)
    return l.held ? l : null
  }, 'handover after SIGTERM', ttl * 5)
  t.ok(released.token! > taken.token!)
})
